package exmailtest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

func newRand(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

type demoPerson struct {
	name, local, position, party, mobile string
	gender                               int
}

var demoPeople = []demoPerson{
	{"张伟", "zhangwei", "总经理", "管理层", "13800000001", 1},
	{"李娜", "lina", "产品经理", "产品部", "13800000002", 2},
	{"王芳", "wangfang", "人事主管", "人力资源部", "13800000003", 2},
	{"陈杰", "chenjie", "后端工程师", "研发中心/后端组", "13800000004", 1},
	{"刘洋", "liuyang", "前端工程师", "研发中心/前端组", "13800000005", 1},
	{"Alice Chen", "alice", "QA Engineer", "研发中心/测试组", "13800000006", 2},
	{"Bob Smith", "bob", "Site Reliability Engineer", "研发中心/运维组", "13800000007", 1},
	{"Emma Wilson", "emma", "Sales Manager", "销售部/海外销售", "13800000008", 2},
	{"赵敏", "zhaomin", "会计", "财务部", "13800000009", 2},
	{"David Li", "david", "Marketing Specialist", "市场部", "13800000010", 1},
}

// SeedDemo fills the enterprise with a small company: ten accounts with
// Chinese and English names in nested departments (研发中心/后端组 …), an
// alias ceo@ on zhangwei@, the groups all@ (全体员工, status inner) and
// dev@ (研发中心, status list, allow list zhangwei@ and lina@), and a
// few read and unread mails in every mailbox. Accounts that already exist
// are left alone. It pushes the new address-book version, but no mail.
func (s *Server) SeedDemo() {
	d := s.opts.Domain
	addr := func(local string) string { return local + "@" + d }
	var all, dev []string
	for i, p := range demoPeople {
		u := User{
			Alias:    addr(p.local),
			Name:     p.name,
			Gender:   p.gender,
			Position: p.position,
			Tel:      fmt.Sprintf("0755-8601%04d", 2000+i),
			Mobile:   p.mobile,
			ExtID:    fmt.Sprintf("%04d", i+1),
			Parties:  []string{p.party},
			OpenType: 1,
		}
		if p.local == "zhangwei" {
			u.Slaves = []string{addr("ceo")}
		}
		_ = s.AddUser(u) // fails only if it exists already
		all = append(all, u.Alias)
		if strings.HasPrefix(p.party, "研发中心") {
			dev = append(dev, u.Alias)
		}
	}
	_ = s.AddGroup(Group{Alias: addr("all"), Name: "全体员工", Status: "inner", Members: all})
	_ = s.AddGroup(Group{Alias: addr("dev"), Name: "研发中心", Status: "list", Members: dev,
		AllowList: []string{addr("zhangwei"), addr("lina")}})

	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	for i, p := range demoPeople {
		a := s.ent.accounts[addr(p.local)]
		if a == nil || len(a.mails) > 0 {
			continue
		}
		r := newRand(uint64(i) + 1)
		n := 3 + r.IntN(4)
		unread := 1 + r.IntN(3)
		times := make([]time.Time, n) // newest last, minutes to hours apart
		t := now.Add(-time.Duration(5+r.IntN(35)) * time.Minute)
		for j := n - 1; j >= 0; j-- {
			times[j] = t
			t = t.Add(-time.Duration(20+r.IntN(90)) * time.Minute)
		}
		for j := range n {
			m := SampleMail(r, a.Alias)
			m.Time = times[j]
			m.Read = j < n-unread
			s.ent.storeLocked(a, a.Alias, m)
		}
	}
}

// Simulate is the demo's "simulated colleague": until ctx is done it
// delivers a SampleMail to one of to (all accounts when empty) at random
// intervals averaging every, and now and then marks a mailbox read as if
// the user had read it on the phone. It returns ctx.Err().
func (s *Server) Simulate(ctx context.Context, r *rand.Rand, every time.Duration, to ...string) error {
	if every <= 0 {
		every = time.Minute
	}
	for {
		wait := every/2 + time.Duration(r.Int64N(int64(every)))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-s.done:
			t.Stop()
			return errClosed
		case <-t.C:
		}
		targets := to
		if len(targets) == 0 {
			for _, u := range s.Users() {
				targets = append(targets, u.Alias)
			}
		}
		if len(targets) == 0 {
			continue
		}
		alias := targets[r.IntN(len(targets))]
		if r.IntN(6) == 0 && s.Unread(alias) > 0 {
			s.MarkRead(alias, 1+r.IntN(s.Unread(alias)))
			continue
		}
		s.Deliver(alias, SampleMail(r, alias))
	}
}

type colleague struct{ name, local string }

var sampleColleagues = []colleague{
	{"张伟", "zhangwei"}, {"李娜", "lina"}, {"王芳", "wangfang"}, {"陈杰", "chenjie"},
	{"刘洋", "liuyang"}, {"赵敏", "zhaomin"}, {"孙丽", "sunli"}, {"周强", "zhouqiang"},
	{"Alice Chen", "alice"}, {"Bob Smith", "bob"}, {"Emma Wilson", "emma"}, {"David Li", "david"},
}

var (
	sampleProjects  = []string{"星河", "北斗", "青鸟", "Phoenix", "Atlas", "Mercury", "会员中心", "支付网关"}
	sampleRooms     = []string{"3楼 301 会议室", "大会议室 A", "Room 12B", "腾讯会议 879-213-556", "5楼 洽谈室"}
	sampleTasks     = []string{"完成登录模块重构", "修复 12 个线上缺陷", "输出 Q4 规划初稿", "完成接口联调", "上线灰度版本", "整理客户访谈纪要"}
	sampleHolidays  = []string{"元旦", "春节", "清明节", "劳动节", "端午节", "中秋节", "国庆节"}
	sampleRoles     = []string{"高级后端工程师", "产品经理", "UI 设计师", "测试开发工程师", "Sales Executive"}
	sampleCustomers = []string{"华润万家", "深圳某科技公司", "Globex Ltd.", "Initech", "上海某银行"}
	sampleHosts     = []string{"web-01", "db-master", "cache-03", "gateway-02", "build-agent-7"}
	samplePackages  = []string{"lodash", "golang.org/x/net", "log4j-core", "requests", "jackson-databind"}
	sampleFood      = []string{"Sichuan", "ramen", "Yunnan noodle", "Cantonese dim sum", "Thai"}
)

type mailTemplate func(r *rand.Rand, c sampleCtx) (sender, subject, summary string)

type sampleCtx struct {
	domain string
	from   colleague // a colleague other than the recipient
	other  colleague // another one
}

func (c sampleCtx) person(p colleague) string {
	return fmt.Sprintf("%q <%s@%s>", p.name, p.local, c.domain)
}

func (c sampleCtx) system(name, local string) string {
	return fmt.Sprintf("%q <%s@%s>", name, local, c.domain)
}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

func dateCN(r *rand.Rand) string { return fmt.Sprintf("%d月%d日", 1+r.IntN(12), 1+r.IntN(28)) }

func dateEN(r *rand.Rand) string {
	return fmt.Sprintf("%s %d", pick(r, []string{"Jan", "Mar", "Apr", "Jun", "Sep", "Oct", "Nov", "Dec"}), 1+r.IntN(28))
}

var mailTemplates = []mailTemplate{
	func(r *rand.Rand, c sampleCtx) (string, string, string) {
		return c.person(c.from), fmt.Sprintf("第%d周工作周报 - %s", 1+r.IntN(52), c.from.name),
			fmt.Sprintf("本周完成：%s；下周计划：%s。详细数据见附件，请查阅。", pick(r, sampleTasks), pick(r, sampleTasks))
	},
	func(r *rand.Rand, c sampleCtx) (string, string, string) {
		p := pick(r, sampleProjects)
		return c.person(c.from), fmt.Sprintf("会议邀请：%s 需求评审（%s %d:00）", p, dateCN(r), 9+r.IntN(9)),
			fmt.Sprintf("地点：%s。请提前阅读%s需求文档，如无法参加请回复说明。", pick(r, sampleRooms), p)
	},
	func(r *rand.Rand, c sampleCtx) (string, string, string) {
		return `"Nimbus Cloud Billing" <billing@nimbus-cloud.example>`, fmt.Sprintf("Invoice INV-%06d from Nimbus Cloud", r.IntN(1000000)),
			fmt.Sprintf("Your invoice for %s is now available. Amount due: $%d.%02d, payable by %s.", pick(r, []string{"October", "November", "December"}), 100+r.IntN(5000), r.IntN(100), dateEN(r))
	},
	func(r *rand.Rand, c sampleCtx) (string, string, string) {
		p, n := pick(r, sampleProjects), 100+r.IntN(900)
		return c.system("Jenkins", "jenkins"), fmt.Sprintf("[Jenkins] %s #%d FAILED", p, n),
			fmt.Sprintf("Build #%d of %s/main failed at stage 'test': %d tests failed. Changes by %s.", n, p, 1+r.IntN(9), c.from.name)
	},
	func(r *rand.Rand, c sampleCtx) (string, string, string) {
		p, n := pick(r, sampleProjects), 100+r.IntN(900)
		return c.system("Jenkins", "jenkins"), fmt.Sprintf("[Jenkins] %s #%d is back to normal", p, n),
			fmt.Sprintf("Build #%d of %s/main succeeded in %dm%02ds.", n, p, 2+r.IntN(20), r.IntN(60))
	},
	func(r *rand.Rand, c sampleCtx) (string, string, string) {
		n := 1 + r.IntN(2000)
		title := pick(r, []string{"Add retry to payment callback", "重构订单状态机", "Fix race in session cache", "升级 Go 到 1.26"})
		return c.system("GitLab", "gitlab"), fmt.Sprintf("[GitLab] %s requested your review on !%d: %s", c.from.name, n, title),
			fmt.Sprintf("%s opened merge request !%d \"%s\" and requested your review. %d files changed.", c.from.name, n, title, 1+r.IntN(30))
	},
	func(r *rand.Rand, c sampleCtx) (string, string, string) {
		return c.system("费控系统", "noreply"), fmt.Sprintf("【待审批】%s 提交的报销单 ¥%d.%02d", c.from.name, 50+r.IntN(8000), r.IntN(100)),
			fmt.Sprintf("%s 提交了一笔%s报销，请在 3 个工作日内完成审批。", c.from.name, pick(r, []string{"差旅", "招待", "办公用品", "培训"}))
	},
	func(r *rand.Rand, c sampleCtx) (string, string, string) {
		h := pick(r, sampleHolidays)
		return c.person(colleague{"王芳", "wangfang"}), fmt.Sprintf("【通知】%s放假安排", h),
			fmt.Sprintf("各位同事：根据国家规定，%s期间放假%d天，请各部门做好值班安排，祝大家节日快乐！", h, 1+r.IntN(7))
	},
	func(r *rand.Rand, c sampleCtx) (string, string, string) {
		sys := pick(r, []string{"OA 系统", "VPN", "企业网盘", "代码仓库"})
		return c.system("IT 服务台", "it"), fmt.Sprintf("系统维护通知：%s 将于本周六 22:00-24:00 停机维护", sys),
			fmt.Sprintf("维护期间%s无法访问，请提前保存工作。如有疑问请联系 IT 服务台（分机 8000）。", sys)
	},
	func(r *rand.Rand, c sampleCtx) (string, string, string) {
		return c.person(c.from), fmt.Sprintf("Weekly sync notes – %s", dateEN(r)),
			fmt.Sprintf("Decisions: ship %s beta next sprint; %s owns the rollout plan. Action items are in the shared doc.", pick(r, sampleProjects), c.other.name)
	},
	func(r *rand.Rand, c sampleCtx) (string, string, string) {
		days := 1 + r.IntN(5)
		return c.person(c.from), fmt.Sprintf("请假申请 - %s（%d天）", c.from.name, days),
			fmt.Sprintf("因家中有事，申请于%s起请假%d天，手头工作已交接给%s，紧急情况可电话联系。", dateCN(r), days, c.other.name)
	},
	func(r *rand.Rand, c sampleCtx) (string, string, string) {
		return c.person(colleague{"王芳", "wangfang"}), fmt.Sprintf("面试安排：%s候选人（%s）", pick(r, sampleRoles), dateCN(r)),
			fmt.Sprintf("候选人简历见附件，面试地点%s，请面试官提前 10 分钟到场并在系统中填写评价。", pick(r, sampleRooms))
	},
	func(r *rand.Rand, c sampleCtx) (string, string, string) {
		return `"Nimbus Cloud" <no-reply@notice.nimbus-cloud.example>`, fmt.Sprintf("您的云服务器 %s 即将到期", pick(r, sampleHosts)),
			fmt.Sprintf("您的实例将于 %s 到期，到期后将停止服务，请及时续费以免影响业务。", dateCN(r))
	},
	func(r *rand.Rand, c sampleCtx) (string, string, string) {
		return c.system("Security Team", "security"), "[Action required] Complete security awareness training by " + dateEN(r),
			"Our records show you have not yet completed this year's security awareness training. It takes about 25 minutes."
	},
	func(r *rand.Rand, c sampleCtx) (string, string, string) {
		cu := pick(r, sampleCustomers)
		return c.person(c.from), fmt.Sprintf("客户反馈：%s 关于%s的问题", cu, pick(r, sampleProjects)),
			fmt.Sprintf("%s 反馈导出报表时偶发超时，影响月底对账，希望本周内给出处理方案。", cu)
	},
	func(r *rand.Rand, c sampleCtx) (string, string, string) {
		cu := pick(r, sampleCustomers)
		return c.person(c.from), fmt.Sprintf("合同盖章申请 - %s 框架协议", cu),
			fmt.Sprintf("与%s的框架协议已经法务审核通过，麻烦安排盖章，纸质版放在前台。", cu)
	},
	func(r *rand.Rand, c sampleCtx) (string, string, string) {
		return c.person(c.from), "Lunch on Friday?",
			fmt.Sprintf("Hi, a few of us are going to try the new %s place on Friday at 12:15. Want to join?", pick(r, sampleFood))
	},
	func(r *rand.Rand, c sampleCtx) (string, string, string) {
		return c.person(colleague{"王芳", "wangfang"}), fmt.Sprintf("周五团建活动报名（截止%s）", dateCN(r)),
			fmt.Sprintf("本次团建安排%s，请在共享表格中登记是否参加及饮食禁忌。", pick(r, []string{"户外徒步", "密室逃脱", "烧烤", "保龄球"}))
	},
	func(r *rand.Rand, c sampleCtx) (string, string, string) {
		return c.person(c.from), "Automatic reply: " + pick(r, sampleProjects) + " status",
			fmt.Sprintf("I am out of the office until %s with limited access to email. For urgent matters please contact %s.", dateEN(r), c.other.name)
	},
	func(r *rand.Rand, c sampleCtx) (string, string, string) {
		pkg := pick(r, samplePackages)
		return `"GitHub" <noreply@github.example>`, fmt.Sprintf("[%s] Dependabot alert: %s has a high severity vulnerability", pick(r, sampleProjects), pkg),
			fmt.Sprintf("A dependency in your repository, %s, is affected by CVE-20%d-%05d. Upgrade to the patched version.", pkg, 23+r.IntN(4), r.IntN(100000))
	},
	func(r *rand.Rand, c sampleCtx) (string, string, string) {
		return c.person(c.from), fmt.Sprintf("Q%d OKR 复盘会议纪要", 1+r.IntN(4)),
			fmt.Sprintf("整体完成率 %d%%，%s 目标未达成的原因已记录，下季度重点放在%s。", 60+r.IntN(40), pick(r, sampleProjects), pick(r, sampleTasks))
	},
	func(r *rand.Rand, c sampleCtx) (string, string, string) {
		return `"电子发票平台" <invoice@fapiao.example>`, "【电子发票】您收到一张新的电子发票",
			fmt.Sprintf("销售方：%s，价税合计 ¥%d.%02d，请下载附件中的 PDF 发票用于报销。", pick(r, sampleCustomers), 20+r.IntN(3000), r.IntN(100))
	},
	func(r *rand.Rand, c sampleCtx) (string, string, string) {
		return c.person(c.from), fmt.Sprintf("Q%d report draft – please review by %s", 1+r.IntN(4), dateEN(r)),
			"Attached is the first draft of the quarterly report. Please check the numbers in section 3 and add comments inline."
	},
	func(r *rand.Rand, c sampleCtx) (string, string, string) {
		h, pct := pick(r, sampleHosts), 85+r.IntN(15)
		return c.system("监控告警", "alert"), fmt.Sprintf("【告警】%s CPU 使用率 %d%% 超过阈值", h, pct),
			fmt.Sprintf("告警级别：P%d；主机：%s；持续时间：%d 分钟。请值班同学及时处理。", 1+r.IntN(3), h, 5+r.IntN(30))
	},
	func(r *rand.Rand, c sampleCtx) (string, string, string) {
		p := pick(r, sampleProjects)
		return c.person(c.from), fmt.Sprintf("Re: 关于%s排期的问题", p),
			fmt.Sprintf("我这边评估了一下，%s大概需要%d个工作日，如果要赶%s上线需要再加一个人。", p, 3+r.IntN(15), dateCN(r))
	},
	func(r *rand.Rand, c sampleCtx) (string, string, string) {
		return c.system("前台", "reception"), "前台通知：您有一个快递待领取",
			fmt.Sprintf("您的快递（%s，单号尾号 %04d）已放在前台，请于今天下班前领取。", pick(r, []string{"顺丰", "京东", "EMS"}), r.IntN(10000))
	},
	func(r *rand.Rand, c sampleCtx) (string, string, string) {
		n := 1 + r.IntN(900)
		return c.system("GitLab", "gitlab"), fmt.Sprintf("Re: [%s] Fix flaky integration test (#%d)", pick(r, sampleProjects), n),
			fmt.Sprintf("%s merged this pull request. Thanks for the fix, the nightly build is green again.", c.other.name)
	},
}

// SampleMail returns a realistic office mail addressed to to, drawn from
// r: weekly reports, meeting invitations, invoices, build notifications,
// approvals, HR notices, alerts… in Chinese and English. Senders are
// colleagues in to's domain (never to itself) or system and outside
// senders, in the display form "\"Name\" <addr>". ID is left empty (Deliver
// assigns one); Time is time.Now().
func SampleMail(r *rand.Rand, to string) Mail {
	domain := DefaultDomain
	local := ""
	if l, d, ok := strings.Cut(to, "@"); ok {
		local, domain = strings.ToLower(l), strings.ToLower(d)
	}
	var others []colleague
	for _, c := range sampleColleagues {
		if c.local != local {
			others = append(others, c)
		}
	}
	from := pick(r, others)
	other := pick(r, others)
	for other == from {
		other = pick(r, others)
	}
	sender, subject, summary := pick(r, mailTemplates)(r, sampleCtx{domain: domain, from: from, other: other})
	return Mail{Sender: sender, Receiver: to, Subject: subject, Summary: summary, Time: time.Now()}
}
