package notify

import "testing"

// With the sound off (the user's preference), Notify asks the server not
// to play one; with it on, the server's default stands.
func TestBus_SoundPreference(t *testing.T) {
	needBus(t)
	srv := &fakeServer{caps: []string{"body"}}
	serve(t, srv)
	n, _ := startNotifier(t, Options{AppName: "Exmail Notifier"})
	for _, tt := range []struct {
		name   string
		sound  bool
		silent bool
	}{
		{"sound off: suppress-sound", false, true},
		{"sound on: the server's default", true, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			n.SetSound(tt.sound)
			n.Toast("New mail", "hi", "")
			got := srv.next(t)
			if s, _ := got.Hints["suppress-sound"].(bool); s != tt.silent {
				t.Errorf("hints %v: suppress-sound %v, want %v", got.Hints, s, tt.silent)
			}
		})
	}
}
