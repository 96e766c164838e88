package settings

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/exmail-notifier/exmail-notifier/api"
	"github.com/exmail-notifier/exmail-notifier/app"
	"github.com/exmail-notifier/exmail-notifier/creds"
	"github.com/exmail-notifier/exmail-notifier/relay/client"
)

// notice is the outcome a redirect after a successful POST names (?done=…):
// one of a fixed set, never text from the request.
type notice string

var notices = map[notice]msg{"saved": mSaved, "signedin": mSignedIn, "signedout": mSignedOut}

// problem is an error to show: a translated headline naming the fix, and the
// Backend's own words as the detail.
type problem struct{ head, detail string }

// explain turns a Backend error into what the page shows. corp picks the
// wording for a rejected credential of Tencent's current API.
func explain(lang app.Lang, err error, corp bool) *problem {
	if err == nil {
		return nil
	}
	t := tr(lang)
	var m msg
	switch {
	case isRefusedCode(err):
		m = mErrCodeRefused
	case errors.Is(err, client.ErrRateLimited):
		m = mErrRateLimited
	case errors.Is(err, client.ErrInsecureURL):
		m = mErrInsecure
	case errors.Is(err, api.ErrIPNotAllowed):
		m = mErrIP
	case errors.Is(err, api.ErrAuth), errors.Is(err, api.ErrInvalidToken):
		m = mErrAuth
		if corp {
			m = mErrCorpAuth
		}
	case errors.Is(err, api.ErrNotFound):
		m = mErrNotFound
	case errors.Is(err, creds.ErrLocked), errors.Is(err, app.ErrKeyringLocked):
		m = mErrKeyringLocked
	case errors.Is(err, creds.ErrUnavailable), errors.Is(err, app.ErrKeyringUnavailable):
		m = mErrKeyringNone
	case isUnreachable(err):
		m = mErrUnreachable
	default:
		m = mErrGeneric
	}
	return &problem{head: t(m), detail: clean(err.Error(), 400)}
}

func (p *page) problem(pr *problem) {
	if pr != nil {
		p.banner("error", pr.head, pr.detail)
	}
}

// firstRun is what the first-run page keeps between a failed POST and the
// page shown again: which form failed, why, and what was typed there except
// the secrets.
type firstRun struct {
	form      string // "enroll", "admin", "corp" or ""
	err       *problem
	relayFlag string
	agent     string
	alias     string
	corpID    string
	notice    notice
}

// getHome is the page: first run without an account, else the settings. An
// enrollment offered by the link handler takes precedence.
func (s *Server) getHome(w http.ResponseWriter, r *http.Request, ss *session, n notice) {
	if s.offeredID() != "" {
		s.getEnroll(w, r, ss)
		return
	}
	st, err := s.state(r)
	if err != nil {
		t := tr(st.Lang)
		p := newPage(st.Lang, t(mSettingsTitle))
		p.problem(&problem{head: t(mErrState), detail: clean(err.Error(), 400)})
		p.send(w, http.StatusInternalServerError)
		return
	}
	if st.Mode == ModeNone {
		s.renderFirstRun(w, st, ss, firstRun{notice: n})
		return
	}
	s.renderSettings(w, st, ss, n, nil)
}

func (s *Server) renderFirstRun(w http.ResponseWriter, st State, ss *session, f firstRun) {
	t := tr(st.Lang)
	p := newPage(st.Lang, t(mWelcomeTitle))
	if m, ok := notices[f.notice]; ok {
		p.banner("ok", t(m), "")
	}
	p.raw(`<p class="intro">` + esc(t(mWelcomeIntro)) + `</p>`)

	p.raw(`<section class="group choice"><h2><span class="step">1</span>` + esc(t(mEnrollTitle)) + `</h2><div class="box">`)
	if f.form == "enroll" {
		p.problem(f.err)
	}
	p.para(t(mEnrollHelp))
	p.form("/enroll/preview", ss.csrf, "")
	focus := ""
	if f.form == "" || f.form == "enroll" {
		focus = " autofocus"
	}
	p.field(t(mEnrollInput), "input", "password", "", "", true, `placeholder="exmail-notifier://enroll?…"`+focus)
	p.field(t(mEnrollRelay), "relay", "url", f.relayFlag, t(mEnrollRelayHelp), false, `placeholder="https://"`)
	p.buttons([3]string{"primary", t(mContinue), ""})
	p.end()
	p.raw(`</div></section>`)

	open := func(form string) string {
		if f.form == form {
			return " open"
		}
		return ""
	}
	p.raw(`<details class="group choice"` + open("admin") + `><summary><h2><span class="step">2</span>` + esc(t(mAdminTitle)) + `</h2></summary><div class="box">`)
	if f.form == "admin" {
		p.problem(f.err)
	}
	p.raw(`<p class="row warn">` + esc(t(mAdminWarn)) + `</p>`)
	p.form("/login", ss.csrf, "")
	p.field(t(mAgent), "agent", "text", f.agent, "", true, `autocomplete="off" spellcheck="false"`)
	p.field(t(mMailbox), "alias", "email", f.alias, "", true, `autocomplete="off" placeholder="name@example.com"`)
	help := t(mKeyHelp)
	if f.form == "admin" && f.err != nil {
		help = t(mSecretRetype)
	}
	p.field(t(mKey), "key", "password", "", help, true, "")
	p.buttons([3]string{"primary", t(mSignIn), ""})
	p.end()
	p.raw(`</div></details>`)

	p.raw(`<details class="group choice"` + open("corp") + `><summary><h2><span class="step">3</span>` + esc(t(mCorpTitle)) + `</h2></summary><div class="box">`)
	if f.form == "corp" {
		p.problem(f.err)
	}
	p.para(t(mCorpHelp))
	p.form("/login-corp", ss.csrf, "")
	p.field(t(mCorpID), "corpid", "text", f.corpID, "", true, `autocomplete="off" spellcheck="false"`)
	p.field(t(mMailbox), "alias", "email", f.alias, "", true, `autocomplete="off" placeholder="name@example.com"`)
	help = ""
	if f.form == "corp" && f.err != nil {
		help = t(mSecretRetype)
	}
	p.field(t(mSSOSecret), "sso", "password", "", "", true, "")
	p.field(t(mMailSecret), "mail", "password", "", help, true, "")
	p.buttons([3]string{"primary", t(mSignIn), ""})
	p.end()
	p.raw(`</div></details>`)
	p.send(w, http.StatusOK)
}

// getEnroll shows the confirmation of the enrollment OfferEnrollment left
// waiting, or goes to the page when there is none.
func (s *Server) getEnroll(w http.ResponseWriter, r *http.Request, ss *session) {
	id := s.offeredID()
	pd := s.getPending(id)
	if pd == nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	st, _ := s.state(r)
	if pd.relayURL == "" {
		ctx, cancel := s.call(r)
		relay, err := s.o.Backend.PreviewEnrollment(ctx, pd.input, pd.relayFlag)
		cancel()
		if err != nil {
			s.dropPending(id)
			s.log.Info("settings page: the offered enrollment link is not valid", "err", err)
			s.renderEnrollError(w, st, ss, "", explain(st.Lang, err, false))
			return
		}
		s.setPendingRelay(id, relay)
		pd.relayURL = relay // pd is this handler's own copy
	}
	s.renderConfirm(w, st, ss, id, pd, nil)
}

// renderEnrollError shows the enrollment form again with err: the first-run
// page, or the settings page for a computer that has an account.
func (s *Server) renderEnrollError(w http.ResponseWriter, st State, ss *session, relayFlag string, pr *problem) {
	if st.Mode == ModeNone {
		s.renderFirstRun(w, st, ss, firstRun{form: "enroll", err: pr, relayFlag: relayFlag})
		return
	}
	s.renderSettings(w, st, ss, "", pr)
}

func (s *Server) renderConfirm(w http.ResponseWriter, st State, ss *session, id string, pd *pending, pr *problem) {
	t := tr(st.Lang)
	p := newPage(st.Lang, t(mConfirmTitle))
	if pd.offered {
		p.raw(`<p class="intro">` + esc(t(mOfferedNote)) + `</p>`)
	}
	p.problem(pr)
	p.section("", func() {
		p.raw(`<div class="row relay"><span class="label">` + esc(t(mConfirmRelay)) + `</span><span class="value strong">` + esc(clean(pd.relayURL, 200)) + `</span></div>`)
		p.info(t(mConfirmLink), "••••••••••••")
		p.info(t(mConfirmDevice), clean(s.o.DeviceName, 80))
		p.para(t(mConfirmCheck))
		if st.Mode != ModeNone {
			p.raw(`<p class="row warn">` + esc(fmt.Sprintf(t(mConfirmReplace), clean(st.Mailbox, 120))) + `</p>`)
		}
		p.form("/enroll/confirm", ss.csrf, "")
		p.hidden("id", id)
		p.buttons([3]string{"plain", t(mCancel), "/enroll/cancel"}, [3]string{"primary", t(mEnroll), ""})
		p.end()
	})
	p.send(w, http.StatusOK)
}

func (s *Server) postEnrollPreview(w http.ResponseWriter, r *http.Request, ss *session) {
	input := api.Secret(strings.TrimSpace(r.PostForm.Get("input")))
	relayFlag := strings.TrimSpace(r.PostForm.Get("relay"))
	st, _ := s.state(r)
	if input == "" {
		s.renderEnrollError(w, st, ss, clean(relayFlag, 200), &problem{head: tr(st.Lang)(mErrMissing)})
		return
	}
	ctx, cancel := s.call(r)
	relay, err := s.o.Backend.PreviewEnrollment(ctx, input, relayFlag)
	cancel()
	if err != nil {
		s.renderEnrollError(w, st, ss, clean(relayFlag, 200), explain(st.Lang, err, false))
		return
	}
	pd := &pending{input: input, relayFlag: relayFlag, relayURL: relay}
	id := s.addPending(pd)
	s.renderConfirm(w, st, ss, id, pd, nil)
}

func (s *Server) postEnrollConfirm(w http.ResponseWriter, r *http.Request, ss *session) {
	id := r.PostForm.Get("id")
	pd := s.getPending(id)
	st, _ := s.state(r)
	t := tr(st.Lang)
	if pd == nil || pd.relayURL == "" {
		s.renderEnrollError(w, st, ss, "", &problem{head: t(mErrOfferGone)})
		return
	}
	ctx, cancel := s.call(r)
	alias, err := s.o.Backend.Enroll(ctx, pd.input, pd.relayFlag, s.o.DeviceName)
	cancel()
	if err != nil {
		s.log.Warn("settings page: enrollment failed", "relay", pd.relayURL, "err", err)
		if isRefusedCode(err) {
			s.dropPending(id) // it cannot work again
			s.renderEnrollError(w, st, ss, clean(pd.relayFlag, 200), explain(st.Lang, err, false))
			return
		}
		s.renderConfirm(w, st, ss, id, pd, explain(st.Lang, err, false))
		return
	}
	s.dropPending(id)
	s.log.Info("settings page: enrolled with the relay", "relay", pd.relayURL)
	st, _ = s.state(r) // the language may differ on the new account
	t = tr(st.Lang)
	p := newPage(st.Lang, t(mEnrolledTitle))
	p.banner("ok", fmt.Sprintf(t(mEnrolledBody), clean(alias, 120), clean(pd.relayURL, 200)), "")
	p.section("", func() {
		p.info(t(mAccMailbox), clean(alias, 120))
		p.info(t(mConfirmRelay), clean(pd.relayURL, 200))
		p.buttons([3]string{"link", t(mToSettings), "/"})
	})
	p.send(w, http.StatusOK)
}

func (s *Server) postEnrollCancel(w http.ResponseWriter, r *http.Request) {
	s.dropPending(r.PostForm.Get("id"))
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (s *Server) postLogin(w http.ResponseWriter, r *http.Request, ss *session) {
	agent := strings.TrimSpace(r.PostForm.Get("agent"))
	alias := strings.TrimSpace(r.PostForm.Get("alias"))
	key := api.Secret(strings.TrimSpace(r.PostForm.Get("key")))
	st, _ := s.state(r)
	f := firstRun{form: "admin", agent: clean(agent, 200), alias: clean(alias, 200)}
	if agent == "" || alias == "" || key == "" {
		f.err = &problem{head: tr(st.Lang)(mErrMissing)}
		s.renderFirstRun(w, st, ss, f)
		return
	}
	ctx, cancel := s.call(r)
	err := s.o.Backend.Login(ctx, agent, alias, key)
	cancel()
	if err != nil {
		s.log.Warn("settings page: direct login failed", "err", err)
		f.err = explain(st.Lang, err, false)
		s.renderFirstRun(w, st, ss, f)
		return
	}
	s.log.Info("settings page: signed in with the interface key")
	http.Redirect(w, r, "/?done=signedin", http.StatusSeeOther)
}

func (s *Server) postLoginCorp(w http.ResponseWriter, r *http.Request, ss *session) {
	corpID := strings.TrimSpace(r.PostForm.Get("corpid"))
	alias := strings.TrimSpace(r.PostForm.Get("alias"))
	sso := api.Secret(strings.TrimSpace(r.PostForm.Get("sso")))
	mail := api.Secret(strings.TrimSpace(r.PostForm.Get("mail")))
	st, _ := s.state(r)
	f := firstRun{form: "corp", corpID: clean(corpID, 200), alias: clean(alias, 200)}
	if corpID == "" || alias == "" || sso == "" || mail == "" {
		f.err = &problem{head: tr(st.Lang)(mErrMissing)}
		s.renderFirstRun(w, st, ss, f)
		return
	}
	ctx, cancel := s.call(r)
	err := s.o.Backend.LoginCorp(ctx, corpID, alias, sso, mail)
	cancel()
	if err != nil {
		s.log.Warn("settings page: current-API login failed", "err", err)
		f.err = explain(st.Lang, err, true)
		s.renderFirstRun(w, st, ss, f)
		return
	}
	s.log.Info("settings page: signed in with Tencent's current API")
	http.Redirect(w, r, "/?done=signedin", http.StatusSeeOther)
}

func (s *Server) renderSettings(w http.ResponseWriter, st State, ss *session, n notice, pr *problem) {
	t := tr(st.Lang)
	p := newPage(st.Lang, t(mSettingsTitle))
	if m, ok := notices[n]; ok {
		p.banner("ok", t(m), "")
	}
	p.problem(pr)

	p.form("/prefs", ss.csrf, "prefs")
	p.section(t(mNotifTitle), func() {
		p.checkbox("content", t(mShowContent), st.Prefs.ShowContent)
		p.checkbox("sound", t(mSound), st.Prefs.Sound)
		p.checkbox("quiet", t(mQuietOn), st.Prefs.Quiet.On)
		p.raw(`<div class="row times"><label for="prefs-from">` + esc(t(mQuietFrom)) + `</label>` +
			`<input id="prefs-from" name="from" type="time" value="` + esc(st.Prefs.Quiet.From.String()) + `">` +
			`<label for="prefs-to">` + esc(t(mQuietTo)) + `</label>` +
			`<input id="prefs-to" name="to" type="time" value="` + esc(st.Prefs.Quiet.To.String()) + `"></div>`)
		p.raw(`<p class="row note">` + esc(t(mQuietHelp)) + `</p>`)
	})
	p.section(t(mGeneralTitle), func() {
		p.raw(`<div class="row field"><label for="prefs-lang">` + esc(t(mLang)) + `</label><div class="control"><select id="prefs-lang" name="lang">`)
		for _, o := range [][2]string{{"", t(mLangSystem)}, {"zh", "简体中文"}, {"en", "English"}} {
			p.raw(`<option value="` + o[0] + `"`)
			if st.Prefs.Lang == o[0] {
				p.raw(` selected`)
			}
			p.raw(`>` + esc(o[1]) + `</option>`)
		}
		p.raw(`</select></div></div>`)
		if st.AutostartAvailable {
			p.checkbox("autostart", t(mAutostart), st.Autostart)
		}
	})
	p.raw(`<div class="actions outside"><button type="submit" class="primary">` + esc(t(mSave)) + `</button></div>`)
	p.end()

	p.section(t(mAccountTitle), func() {
		p.info(t(mAccMailbox), clean(st.Mailbox, 120))
		switch st.Mode {
		case ModeRelay:
			p.info(t(mAccHow), fmt.Sprintf(t(mModeRelay), clean(st.Relay, 200)))
		case ModeDirect:
			p.info(t(mAccHow), fmt.Sprintf(t(mModeDirect), clean(st.Agent, 120)))
			p.raw(`<p class="row warn">` + esc(t(mAdminKeyHere)) + `</p>`)
		case ModeCorp:
			p.info(t(mAccHow), fmt.Sprintf(t(mModeCorp), clean(st.CorpID, 120)))
		}
		p.buttons([3]string{"link", t(mSignOut), "/signout"})
	})
	p.section(t(mDoctorTitle), func() {
		p.para(t(mDoctorHelp))
		p.buttons([3]string{"link", t(mRunDoctor), "/doctor"})
	})
	p.send(w, http.StatusOK)
}

func (s *Server) postPrefs(w http.ResponseWriter, r *http.Request, ss *session) {
	st, err := s.state(r)
	if err != nil {
		s.getHome(w, r, ss, "")
		return
	}
	t := tr(st.Lang)
	f := r.PostForm
	np := Prefs{
		ShowContent: f.Get("content") == "on",
		Sound:       f.Get("sound") == "on",
		Quiet:       QuietHours{On: f.Get("quiet") == "on", From: st.Prefs.Quiet.From, To: st.Prefs.Quiet.To},
		Lang:        f.Get("lang"),
	}
	if np.Lang != "zh" && np.Lang != "en" {
		np.Lang = ""
	}
	if v := f.Get("from"); v != "" || np.Quiet.On {
		from, err1 := ParseTimeOfDay(v)
		to, err2 := ParseTimeOfDay(f.Get("to"))
		if err1 != nil || err2 != nil {
			st.Prefs = np
			s.renderSettings(w, st, ss, "", &problem{head: t(mErrTime)})
			return
		}
		np.Quiet.From, np.Quiet.To = from, to
	}
	ctx, cancel := s.call(r)
	defer cancel()
	if err := s.o.Backend.SetPrefs(ctx, np); err != nil {
		s.renderSettings(w, st, ss, "", explain(st.Lang, err, false))
		return
	}
	if on := f.Get("autostart") == "on"; st.AutostartAvailable && on != st.Autostart {
		if err := s.o.Backend.SetAutostart(ctx, on); err != nil {
			st.Prefs = np
			s.renderSettings(w, st, ss, "", explain(st.Lang, err, false))
			return
		}
	}
	s.log.Info("settings page: preferences saved")
	http.Redirect(w, r, "/?done=saved", http.StatusSeeOther)
}

func (s *Server) getSignOut(w http.ResponseWriter, r *http.Request, ss *session) {
	st, err := s.state(r)
	if err != nil || st.Mode == ModeNone {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	t := tr(st.Lang)
	p := newPage(st.Lang, t(mSignOutTitle))
	p.section("", func() {
		p.raw(`<p class="row">` + esc(fmt.Sprintf(t(mSignOutBody), clean(st.Mailbox, 120))) + `</p>`)
		p.form("/signout", ss.csrf, "")
		p.buttons([3]string{"link", t(mCancel), "/"}, [3]string{"danger", t(mSignOutConfirm), ""})
		p.end()
	})
	p.send(w, http.StatusOK)
}

func (s *Server) postSignOut(w http.ResponseWriter, r *http.Request, ss *session) {
	ctx, cancel := s.call(r)
	err := s.o.Backend.SignOut(ctx)
	cancel()
	if err != nil {
		st, _ := s.state(r)
		s.renderSettings(w, st, ss, "", explain(st.Lang, err, false))
		return
	}
	s.log.Info("settings page: signed out")
	http.Redirect(w, r, "/?done=signedout", http.StatusSeeOther)
}

func (s *Server) getDoctor(w http.ResponseWriter, r *http.Request, ss *session) {
	st, _ := s.state(r)
	t := tr(st.Lang)
	ctx, cancel := s.call(r)
	rep, err := s.o.Backend.Doctor(ctx)
	cancel()
	p := newPage(st.Lang, t(mDoctorTitle))
	if err != nil {
		p.problem(&problem{head: t(mErrDoctor), detail: clean(err.Error(), 400)})
	}
	if len(rep.Checks) > 0 {
		p.section("", func() {
			p.raw(`<ul class="checks">`)
			for _, c := range rep.Checks {
				cls, label := "c-ok", t(mStatusOK)
				switch c.Status {
				case CheckWarn:
					cls, label = "c-warn", t(mStatusWarn)
				case CheckFail:
					cls, label = "c-fail", t(mStatusFail)
				case CheckInfo:
					cls, label = "c-info", t(mStatusInfo)
				}
				p.raw(`<li class="row ` + cls + `"><span class="mark" aria-label="` + esc(label) + `" title="` + esc(label) + `"></span><span><strong>` +
					esc(clean(c.Name, 120)) + `</strong><small>` + esc(clean(c.Detail, 500)) + `</small></span></li>`)
			}
			p.raw(`</ul>`)
		})
	}
	if rep.Text != "" {
		p.js = true
		p.section(t(mReportTitle), func() {
			p.para(t(mReportHelp))
			p.raw(`<div class="row"><textarea id="report" readonly rows="10" spellcheck="false">` + esc(safetextLines(rep.Text)) + `</textarea></div>`)
			p.raw(`<div class="row actions"><a class="button" href="/">` + esc(t(mBack)) + `</a>` +
				`<button type="button" class="primary" id="copy" hidden data-done="` + esc(t(mCopied)) + `">` + esc(t(mCopy)) + `</button></div>`)
		})
	} else {
		p.section("", func() { p.buttons([3]string{"link", t(mBack), "/"}) })
	}
	p.send(w, http.StatusOK)
}
