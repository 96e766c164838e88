package tray

import "strings"

// Host is what the desktop offers to show a tray item.
type Host int

const (
	// HostUnknown: not checked yet.
	HostUnknown Host = iota
	// HostNoBus: there is no session bus (Linux/BSD only).
	HostNoBus
	// HostNoWatcher: nothing owns org.kde.StatusNotifierWatcher, so no
	// tray item can register (stock GNOME, or a tray that only speaks the
	// old XEmbed protocol).
	HostNoWatcher
	// HostNoHost: a watcher runs, but no host draws the items.
	HostNoHost
	// HostReady: the icon will show (always on Windows and macOS).
	HostReady
)

func (h Host) String() string {
	switch h {
	case HostUnknown:
		return "unknown"
	case HostNoBus:
		return "no-session-bus"
	case HostNoWatcher:
		return "no-watcher"
	case HostNoHost:
		return "watcher-without-host"
	case HostReady:
		return "ready"
	}
	return "Host(?)"
}

// Advice says, in one English line for the log and `doctor`, why the tray
// icon cannot be seen and how to fix it. desktop is $XDG_CURRENT_DESKTOP.
// It returns "" for HostReady and HostUnknown.
func Advice(h Host, desktop string) string {
	if h == HostReady || h == HostUnknown {
		return ""
	}
	if h == HostNoBus {
		return "no D-Bus session bus: the tray icon and notifications need a desktop session; start the notifier from your desktop's autostart, not from a plain console"
	}
	d := strings.ToUpper(desktop)
	fix := "enable a StatusNotifierItem tray (an \"AppIndicator\"/\"Status Tray\" area) in your panel"
	switch {
	case strings.Contains(d, "GNOME") || strings.Contains(d, "UNITY") || strings.Contains(d, "PANTHEON"):
		fix = "GNOME shows no tray icons by itself: install and enable the \"AppIndicator and KStatusNotifierItem Support\" extension (Debian/Ubuntu: gnome-shell-extension-appindicator; Fedora: gnome-shell-extension-appindicator), then log out and in"
	case strings.Contains(d, "KDE"):
		fix = "add the \"System Tray\" widget to a Plasma panel"
	case strings.Contains(d, "XFCE"):
		fix = "add the \"Status Tray Plugin\" (xfce4-panel 4.16+: Status Tray) to a panel"
	case strings.Contains(d, "LXQT"):
		fix = "add the \"Status Notifier\" widget to the LXQt panel"
	case strings.Contains(d, "MATE") || strings.Contains(d, "CINNAMON") || strings.Contains(d, "BUDGIE"):
		fix = "enable the panel's notification area / indicator applet (MATE: install ayatana-indicator-application or the StatusNotifier applet)"
	case strings.Contains(d, "SWAY") || strings.Contains(d, "HYPRLAND") || strings.Contains(d, "I3"):
		fix = "enable the tray of your bar (waybar: the \"tray\" module; i3bar needs snixembed)"
	}
	what := "no system tray on this desktop (nothing owns org.kde.StatusNotifierWatcher)"
	if h == HostNoHost {
		what = "a StatusNotifierWatcher runs but no tray host draws the icons"
	}
	return what + ": the icon will not show, notifications still work; " + fix
}
