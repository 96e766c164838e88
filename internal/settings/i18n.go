package settings

import "github.com/exmail-notifier/exmail-notifier/app"

// msg names one text of the page; catalog holds it in English and Chinese.
type msg int

const (
	mAppName msg = iota
	mSettingsTitle
	mWelcomeTitle
	mWelcomeIntro
	mEnrollTitle
	mEnrollHelp
	mEnrollInput
	mEnrollRelay
	mEnrollRelayHelp
	mContinue
	mAdminTitle
	mAdminWarn
	mAgent
	mMailbox
	mKey
	mKeyHelp
	mSignIn
	mCorpTitle
	mCorpHelp
	mCorpID
	mSSOSecret
	mMailSecret
	mSecretRetype
	mConfirmTitle
	mConfirmRelay
	mConfirmCheck
	mConfirmLink
	mConfirmDevice
	mConfirmReplace
	mOfferedNote
	mEnroll
	mCancel
	mEnrolledTitle
	mEnrolledBody
	mToSettings
	mNotifTitle
	mShowContent
	mSound
	mQuietOn
	mQuietFrom
	mQuietTo
	mQuietHelp
	mGeneralTitle
	mLang
	mLangSystem
	mAutostart
	mSave
	mAccountTitle
	mAccMailbox
	mAccHow
	mModeRelay
	mModeDirect
	mModeCorp
	mAdminKeyHere
	mSignOut
	mSignOutTitle
	mSignOutBody
	mSignOutConfirm
	mDoctorTitle
	mDoctorHelp
	mRunDoctor
	mReportTitle
	mReportHelp
	mCopy
	mCopied
	mStatusOK
	mStatusWarn
	mStatusFail
	mStatusInfo
	mBack
	mSaved
	mSignedIn
	mSignedOut
	mErrCodeRefused
	mErrRateLimited
	mErrInsecure
	mErrAuth
	mErrCorpAuth
	mErrIP
	mErrNotFound
	mErrKeyringLocked
	mErrKeyringNone
	mErrUnreachable
	mErrGeneric
	mErrState
	mErrMissing
	mErrTime
	mErrDoctor
	mErrOfferGone
	mRefusedTitle
	mRefusedBody
	mDetails
	numMsgs
)

// catalog is every text of the page: [0] English, [1] Simplified Chinese.
// Texts with verbs are fmt formats; their arguments are sanitized first and
// the result is escaped like any other text.
var catalog = [numMsgs][2]string{
	mAppName:          {"exmail-notifier", "企业邮箱提醒"},
	mSettingsTitle:    {"Settings", "设置"},
	mWelcomeTitle:     {"Set up", "开始设置"},
	mWelcomeIntro:     {"Choose how this computer gets your mail. Most people have a link or code from IT.", "请选择此电脑接收邮件的方式。大多数人会从 IT 部门收到一个链接或登记码。"},
	mEnrollTitle:      {"My company gave me a link or code", "公司给了我链接或登记码"},
	mEnrollHelp:       {"Paste the link from IT's mail (exmail-notifier://enroll?…) or the code. Your company's relay keeps the administrator key; this computer only gets access to your own mailbox.", "粘贴 IT 邮件中的链接（exmail-notifier://enroll?…）或登记码。管理员密钥保存在公司中继上，此电脑只能访问你自己的邮箱。"},
	mEnrollInput:      {"Link or code", "链接或登记码"},
	mEnrollRelay:      {"Relay address", "中继地址"},
	mEnrollRelayHelp:  {"Only for a bare code, e.g. https://relay.example.com", "仅在只有登记码时填写，例如 https://relay.example.com"},
	mContinue:         {"Continue", "继续"},
	mAdminTitle:       {"I am the administrator", "我是管理员"},
	mAdminWarn:        {"The interface key is the administrator credential of the whole company: whoever holds it can open every mailbox, reset passwords and lift two-factor sign-in, and it travels over plain HTTP. Enter it only on a trusted administrator's computer; everyone else should ask IT for a relay link.", "接口key 是整个企业的管理员凭据：持有者可以打开所有邮箱、重置密码、关闭二次验证，且它经由未加密的 HTTP 传输。只应在受信任的管理员电脑上输入；其他人请向 IT 索取中继登记链接。"},
	mAgent:            {"Admin account", "管理员账号"},
	mMailbox:          {"Mailbox", "邮箱"},
	mKey:              {"Interface key", "接口key"},
	mKeyHelp:          {"Admin console: 工具箱 → 开放协议", "管理后台：工具箱 → 开放协议"},
	mSignIn:           {"Sign in", "登录"},
	mCorpTitle:        {"Tencent's current API", "腾讯新版接口"},
	mCorpHelp:         {"For api.exmail.qq.com: the corpid (bottom of 工具箱 → 应用中心) and the secrets of the 单点登录 and 新邮件提醒 applications.", "适用于 api.exmail.qq.com：corpid（工具箱 → 应用中心 页面底部）以及“单点登录”和“新邮件提醒”两个应用的 secret。"},
	mCorpID:           {"corpid", "corpid"},
	mSSOSecret:        {"单点登录 secret", "单点登录 secret"},
	mMailSecret:       {"新邮件提醒 secret", "新邮件提醒 secret"},
	mSecretRetype:     {"Secrets are never shown again: type them once more.", "为安全起见，密钥不会回显，请重新输入。"},
	mConfirmTitle:     {"Enroll this computer?", "登记此电脑？"},
	mConfirmRelay:     {"Relay", "中继"},
	mConfirmCheck:     {"The code goes only to this address. Enroll only if it is your company's. The relay then tells which mailbox it serves this computer.", "登记码只会发送到这个地址。请确认它属于你的公司后再登记。登记后将显示中继为此电脑提供的邮箱。"},
	mConfirmLink:      {"Link or code", "链接或登记码"},
	mConfirmDevice:    {"This computer's name for IT", "IT 看到的电脑名称"},
	mConfirmReplace:   {"This replaces the current account (%s).", "这将替换当前账户（%s）。"},
	mOfferedNote:      {"An enrollment link from your company opened this page.", "此页面由公司发送的登记链接打开。"},
	mEnroll:           {"Enroll", "登记"},
	mCancel:           {"Cancel", "取消"},
	mEnrolledTitle:    {"Enrolled", "登记完成"},
	mEnrolledBody:     {"This computer now gets the mail of %s through the relay %s.", "此电脑现在通过中继 %[2]s 接收 %[1]s 的邮件。"},
	mToSettings:       {"Done", "完成"},
	mNotifTitle:       {"Notifications", "通知"},
	mShowContent:      {"Show message content in notifications", "在通知中显示邮件内容"},
	mSound:            {"Play a sound", "播放提示音"},
	mQuietOn:          {"Quiet hours on weekdays", "工作日免打扰"},
	mQuietFrom:        {"From", "从"},
	mQuietTo:          {"to", "至"},
	mQuietHelp:        {"Monday to Friday, no notifications in this span. The unread count keeps updating.", "周一至周五，此时段内不弹出通知；未读数照常更新。"},
	mGeneralTitle:     {"General", "常规"},
	mLang:             {"Language", "语言"},
	mLangSystem:       {"System", "跟随系统"},
	mAutostart:        {"Start at login", "登录时启动"},
	mSave:             {"Save", "保存"},
	mAccountTitle:     {"Account", "账户"},
	mAccMailbox:       {"Mailbox", "邮箱"},
	mAccHow:           {"Connection", "连接方式"},
	mModeRelay:        {"Company relay, %s", "公司中继，%s"},
	mModeDirect:       {"Direct, with the interface key of %s", "直连，使用 %s 的接口key"},
	mModeCorp:         {"Tencent's current API, corpid %s", "腾讯新版接口，corpid %s"},
	mAdminKeyHere:     {"This computer holds the company's administrator key. Unless you are the administrator, ask IT for a relay link, then sign out here.", "此电脑保存着企业的管理员密钥。如果你不是管理员，请向 IT 索取中继登记链接，然后在此退出登录。"},
	mSignOut:          {"Sign out…", "退出登录…"},
	mSignOutTitle:     {"Sign out?", "退出登录？"},
	mSignOutBody:      {"This computer forgets the account of %s: its secret is removed from the keyring. Your preferences stay. Signing in again needs a new link from IT, or the key.", "此电脑将忘记 %s 的账户，并从密钥环中删除其密钥。你的偏好设置会保留。再次登录需要 IT 提供的新链接或密钥。"},
	mSignOutConfirm:   {"Sign out", "退出登录"},
	mDoctorTitle:      {"Troubleshooting", "故障排查"},
	mDoctorHelp:       {"Checks the keyring, the connection and the account, and makes a support report for IT.", "检查密钥环、网络连接和账户，并生成一份可发给 IT 的支持报告。"},
	mRunDoctor:        {"Run checks", "运行检查"},
	mReportTitle:      {"Support report", "支持报告"},
	mReportHelp:       {"It holds no key, token or code. Copy it into your mail to IT.", "报告中不含任何密钥、令牌或登记码。可复制到发给 IT 的邮件中。"},
	mCopy:             {"Copy report", "复制报告"},
	mCopied:           {"Copied", "已复制"},
	mStatusOK:         {"OK", "正常"},
	mStatusWarn:       {"Warning", "警告"},
	mStatusFail:       {"Problem", "问题"},
	mStatusInfo:       {"Note", "说明"},
	mBack:             {"Back", "返回"},
	mSaved:            {"Saved. The changes apply now.", "已保存，立即生效。"},
	mSignedIn:         {"Signed in. The tray shows your mailbox now.", "登录成功，托盘现在显示你的邮箱。"},
	mSignedOut:        {"Signed out. This computer holds no account now.", "已退出登录，此电脑不再保存任何账户。"},
	mErrCodeRefused:   {"This link or code was already used, or has expired. Ask IT for a new enrollment link.", "此链接或登记码已被使用或已过期。请向 IT 索取新的登记链接。"},
	mErrRateLimited:   {"The relay refused too many attempts. Wait a few minutes, then try again.", "尝试次数过多，中继暂时拒绝。请等几分钟后再试。"},
	mErrInsecure:      {"The relay address must start with https://. Check the link from IT.", "中继地址必须以 https:// 开头。请核对 IT 提供的链接。"},
	mErrAuth:          {"The admin account or the interface key was rejected. Check both and type the key again (工具箱 → 开放协议).", "管理员账号或接口key 被拒绝。请核对后重新输入接口key（工具箱 → 开放协议）。"},
	mErrCorpAuth:      {"The corpid or a secret was rejected. Check that each secret belongs to its application, and type them again.", "corpid 或 secret 被拒绝。请确认每个 secret 对应正确的应用，然后重新输入。"},
	mErrIP:            {"This computer's public IP address is not on the allow list. An administrator adds it under 工具箱 → 开放协议 → 可使用此开放接口的IP.", "此电脑的公网 IP 不在白名单中。请管理员在 工具箱 → 开放协议 → 可使用此开放接口的IP 中添加。"},
	mErrNotFound:      {"The server does not know this mailbox. Check its spelling.", "服务器上没有这个邮箱，请检查拼写。"},
	mErrKeyringLocked: {"The keyring is locked, so nothing could be stored. Unlock it (sign in to your desktop session), then try again.", "密钥环已锁定，无法保存。请解锁（登录桌面会话）后重试。"},
	mErrKeyringNone:   {"There is no keyring to keep the secret in. Start one (on Linux: gnome-keyring or KWallet), then try again.", "没有可用的密钥环来保存密钥。请启动一个（Linux 上为 gnome-keyring 或 KWallet）后重试。"},
	mErrUnreachable:   {"The server could not be reached. Check the address and your network connection, then try again.", "无法连接服务器。请检查地址和网络连接后重试。"},
	mErrGeneric:       {"That did not work.", "操作未成功。"},
	mErrState:         {"The current settings could not be read.", "无法读取当前设置。"},
	mErrMissing:       {"Fill in every field.", "请填写所有字段。"},
	mErrTime:          {"Give the quiet hours as HH:MM, e.g. 20:00 and 08:00.", "请以 HH:MM 格式填写免打扰时段，例如 20:00 和 08:00。"},
	mErrDoctor:        {"The checks could not run.", "无法运行检查。"},
	mErrOfferGone:     {"The enrollment link waited too long and was forgotten. Paste it again.", "登记链接等待过久已被丢弃，请重新粘贴。"},
	mRefusedTitle:     {"This page cannot be shown", "无法显示此页面"},
	mRefusedBody:      {"Settings open only from the tray icon, and each link works once. Choose Settings… in the tray menu again.", "设置页面只能从托盘图标打开，每个链接只能使用一次。请再次在托盘菜单中选择“设置…”。"},
	mDetails:          {"Details", "详情"},
}

// tr returns the lookup of lang's texts (English for anything but Chinese).
func tr(lang app.Lang) func(msg) string {
	i := 0
	if lang == app.Chinese {
		i = 1
	}
	return func(m msg) string { return catalog[m][i] }
}
