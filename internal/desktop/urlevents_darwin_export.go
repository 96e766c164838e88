//go:build darwin && cgo

package desktop

import "C"

// exmailNotifierGotURL is called by the Get URL Apple event handler
// (urlevents_darwin.go) on the main thread, inside the run loop. It copies
// the URL and queues it; it never blocks and never logs the URL.
//
//export exmailNotifierGotURL
func exmailNotifierGotURL(url *C.char, n C.int) {
	if url == nil || n < 0 || int(n) > maxURLLen {
		return
	}
	appleURLs.deliver(C.GoStringN(url, n))
}
