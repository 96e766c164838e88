//go:build darwin && cgo

package desktop

/*
#cgo CFLAGS: -x objective-c -fobjc-arc
#cgo LDFLAGS: -framework Foundation -framework AppKit

#import <Foundation/Foundation.h>
#import <AppKit/AppKit.h>
#import <CoreServices/CoreServices.h> // kInternetEventClass, kAEGetURL, keyDirectObject
#include <string.h>

// Defined in urlevents_darwin_export.go (cgo puts files with //export
// into _cgo_export.c, which is why this implementation lives here).
extern void exmailNotifierGotURL(char *url, int len);

// ExmailURLEventHandler receives Get URL Apple events. It is not the
// NSApplication delegate: fyne.io/systray owns that, and this never
// touches it.
@interface ExmailURLEventHandler : NSObject
- (void)handleGetURLEvent:(NSAppleEventDescriptor *)event withReplyEvent:(NSAppleEventDescriptor *)reply;
@end

@implementation ExmailURLEventHandler
- (void)handleGetURLEvent:(NSAppleEventDescriptor *)event withReplyEvent:(NSAppleEventDescriptor *)reply {
	// The URL is the event's direct object. Hand it to Go and return at
	// once: Go only queues it (it never blocks this, the main thread).
	// Never NSLog it: it carries a one-time enrollment code.
	NSString *url = [[event paramDescriptorForKeyword:keyDirectObject] stringValue];
	if (url == nil) {
		return;
	}
	const char *p = [url UTF8String];
	if (p == NULL) {
		return;
	}
	size_t n = strlen(p);
	if (n > 8192) { // maxURLLen: nothing the relay writes is this long
		return;
	}
	exmailNotifierGotURL((char *)p, (int)n);
}
@end

// Strong references (ARC) for the life of the process.
static ExmailURLEventHandler *exmailURLHandler;
static id exmailWillFinishObserver;

static void exmailSetURLHandler(void) {
	[[NSAppleEventManager sharedAppleEventManager] setEventHandler:exmailURLHandler
	                                                   andSelector:@selector(handleGetURLEvent:withReplyEvent:)
	                                                 forEventClass:kInternetEventClass
	                                                    andEventID:kAEGetURL];
}

// exmailInstallOnMain runs on the main thread, once.
static void exmailInstallOnMain(void) {
	if (exmailURLHandler != nil) {
		return;
	}
	exmailURLHandler = [[ExmailURLEventHandler alloc] init];
	// Now: enough when the app has already finished launching (a late
	// call), and harmless before.
	exmailSetURLHandler();
	// Again when the app is about to finish launching. AppKit installs its
	// own handlers for the events it knows (Get URL among them, for
	// -application:openURLs:) before it posts
	// NSApplicationWillFinishLaunchingNotification, and any handler set
	// earlier for the same event is replaced by AppKit's. Apple's "How
	// Cocoa Applications Handle Apple Events" names
	// applicationWillFinishLaunching: as the place to install handlers for
	// that reason; that delegate method is this very notification, which
	// anyone may observe without being the delegate. The event that
	// launched the app is dispatched only after this, when [NSApp run]
	// starts processing events, so it reaches this handler.
	exmailWillFinishObserver = [[NSNotificationCenter defaultCenter]
		addObserverForName:NSApplicationWillFinishLaunchingNotification
		            object:nil
		             queue:nil // on the posting thread: the main thread, inside -finishLaunching
		        usingBlock:^(NSNotification *note) {
			exmailSetURLHandler();
		}];
}

// exmailInstallURLHandler installs the Get URL handler on the main thread:
// at once when called there (the Go main goroutine is locked to it by
// fyne.io/systray's init), else queued to the main dispatch queue, which
// runs only once [NSApp run] does, possibly after the launching event.
static void exmailInstallURLHandler(void) {
	if ([NSThread isMainThread]) {
		exmailInstallOnMain();
		return;
	}
	dispatch_async(dispatch_get_main_queue(), ^{
		exmailInstallOnMain();
	});
}
*/
import "C"

// urlEventsSupported: macOS sends links as Apple events.
const urlEventsSupported = true

// installURLHandler installs the Get URL Apple event handler (once per
// process; later calls do nothing). What it relies on to catch the click
// that launched the app:
//
//   - it is called on the main goroutine, which fyne.io/systray's init
//     locks to the main thread, before systray.Run calls [NSApp run];
//   - [NSApp run] first calls -finishLaunching, which installs AppKit's
//     own Apple event handlers, then posts
//     NSApplicationWillFinishLaunchingNotification, where this handler is
//     installed again and so replaces AppKit's Get URL handler;
//   - only then does the run loop dispatch queued Apple events, the
//     launching Get URL event among them.
//
// Called from another goroutine (not the main thread) before the run loop
// starts, the install waits for the main dispatch queue, which [NSApp run]
// drains after -finishLaunching: links clicked later arrive, the
// launching one may not.
func installURLHandler() { C.exmailInstallURLHandler() }
