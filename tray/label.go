package tray

import "fyne.io/systray"

// Menu labels are plain text: subjects, senders, statuses and the version,
// in Chinese or English, none of which is meant to carry an access key
// (mnemonic). fyne.io/systray hands labels to the platform unchanged, and
// each platform's menu gives some characters a special role, so every
// label goes through menuLabel (one file per platform) on its way to
// systray, and nowhere else:
//
//   - dbusmenu (Linux, the BSDs): "_" marks the access key and is not
//     shown, so "EXMAIL_SECRET" showed as "EXMAILSECRET"; "__" is a
//     literal underscore.
//   - Win32 menus (Windows): "&" marks the access key, "&&" is a literal
//     ampersand. (A tab would start the accelerator column; app's
//     sanitizing never lets one through.)
//   - NSMenu (macOS): titles are shown as given; key equivalents are set
//     apart (systray sets none).

// labelled is a systray menu item whose SetTitle escapes the label for
// this platform's menu.
type labelled struct{ *systray.MenuItem }

func (l labelled) SetTitle(s string) { l.MenuItem.SetTitle(menuLabel(s)) }
