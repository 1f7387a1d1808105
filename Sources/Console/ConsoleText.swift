import TaskForces

/// The console's two languages. Chinese is the default; the switch on every page sets a
/// cookie.
package enum ConsoleLanguage: String, Sendable, CaseIterable {
    case zh, en

    /// The `lang` attribute of the page.
    package var htmlTag: String { self == .zh ? "zh-Hans" : "en" }
}

/// Every word the console shows, in Chinese and English.
package struct ConsoleText: Sendable {
    package let language: ConsoleLanguage

    package init(_ language: ConsoleLanguage) { self.language = language }

    /// The text for `key` (the key itself when there is none, so a gap shows rather than hides).
    package subscript(_ key: String) -> String {
        guard let pair = Self.words[key] else { return key }
        return language == .zh ? pair.0 : pair.1
    }

    /// A task force's name.
    package func taskForce(_ name: String) -> String {
        guard let taskForce = TaskForce(rawValue: name) else { return name }
        return language == .zh ? taskForce.chineseName : taskForce.englishName
    }

    /// A state's name.
    package func state(_ name: String) -> String { self["state." + name] }

    /// A ledger event type's name.
    package func event(_ type: String) -> String {
        let key = "event." + type
        return Self.words[key] == nil ? type : self[key]
    }

    /// A duration as people read it: `2h 05m`, `3d 4h`, `45m`.
    package func duration(_ seconds: Double) -> String {
        let total = Int(abs(seconds) / 60)
        let days = total / 1440, hours = (total % 1440) / 60, minutes = total % 60
        let (d, h, m) = language == .zh ? ("天", "小时", "分") : ("d ", "h ", "m")
        if days > 0 { return "\(days)\(d)\(hours)\(h)".trimmingCharacters(in: .whitespaces) }
        if hours > 0 { return "\(hours)\(h)\(String(format: "%02d", minutes))\(m)".trimmingCharacters(in: .whitespaces) }
        return "\(minutes)\(m)".trimmingCharacters(in: .whitespaces)
    }

    static let words: [String: (String, String)] = [
        "app.title": ("人工办理台", "Casework console"),
        "nav.inbox": ("待办", "Inbox"),
        "nav.triage": ("分拨台", "Triage desk"),
        "nav.leader": ("领导视图", "Leader view"),
        "nav.logout": ("退出登录", "Log out"),
        "nav.language": ("English", "中文"),
        "nav.skip": ("跳到正文", "Skip to content"),
        "login.title": ("登录", "Log in"),
        "login.username": ("登录名", "Login"),
        "login.password": ("密码", "Password"),
        "login.submit": ("登录", "Log in"),
        "login.hint": ("使用您本人的数据库登录名与密码。", "Use your own database login and password."),
        "login.refused": ("登录名或密码不正确。", "Wrong login or password."),
        "login.notCaseworker": ("此登录名不属于办理人员、话务员或领导。", "This login is not an officer, an operator or a leader."),
        "login.limited": ("失败次数过多，请一分钟后再试。", "Too many failed logins; try again in a minute."),
        "login.expired": ("会话已过期，请重新登录。", "Your session ended; please log in again."),
        "login.loggedOut": ("已退出登录。", "You are logged out."),
        "login.relogin": ("数据库不再接受此登录的密码（可能已更改），请重新登录。", "The database no longer accepts this login's password (changed?): log in again."),
        "csrf.refused": ("表单已失效（缺少或错误的校验码），请刷新页面后重试。", "The form was refused (missing or wrong CSRF token); reload the page and try again."),
        "inbox.title": ("待办案件", "Inbox"),
        "inbox.empty": ("没有符合条件的案件。", "No cases match."),
        "inbox.filter": ("筛选", "Filter"),
        "inbox.allStates": ("全部状态", "All states"),
        "inbox.allTaskForces": ("全部专班", "All task forces"),
        "inbox.sort": ("排序", "Order"),
        "inbox.sort.due": ("办结时限（最急在前）", "Solution clock (most urgent first)"),
        "inbox.sort.signoff": ("签收时限（最急在前）", "Sign-off clock (most urgent first)"),
        "inbox.sort.newest": ("受理时间（最新在前）", "Received (newest first)"),
        "inbox.sort.oldest": ("受理时间（最早在前）", "Received (oldest first)"),
        "inbox.apply": ("应用", "Apply"),
        "inbox.next": ("下一页", "Next page"),
        "inbox.first": ("第一页", "First page"),
        "inbox.requests": ("请您协办的案件", "Co-handling requests for you"),
        "inbox.keys": ("快捷键：j/k 上下移动，Enter 打开，/ 筛选", "Keys: j/k move, Enter opens, / filters"),
        "col.case": ("案件", "Case"),
        "col.taskForce": ("专班", "Task force"),
        "col.state": ("状态", "State"),
        "col.enterprise": ("企业", "Enterprise"),
        "col.problem": ("问题", "Problem"),
        "col.signoff": ("签收时限", "Sign-off clock"),
        "col.solution": ("办结时限", "Solution clock"),
        "col.received": ("受理时间", "Received"),
        "col.flags": ("督办/催办", "Supervised/chased"),
        "col.suggestions": ("建议专班（分类器前三）", "Suggestions (classifier's top three)"),
        "col.assign": ("分拨", "Assign"),
        "triage.cohandling": ("建议协办专班", "Suggested co-handling"),
        "clock.left": ("剩余", "left"),
        "clock.over": ("超时", "overdue by"),
        "clock.paused": ("已暂停", "paused"),
        "clock.atRisk": ("临近", "at risk"),
        "clock.breached": ("已超时", "breached"),
        "clock.callback": ("回访时间", "callback at"),
        "state.open": ("处理中", "open"),
        "state.triage": ("待分拨", "triage"),
        "state.escalated": ("已升级", "escalated"),
        "state.signoff": ("待签收", "waiting for sign-off"),
        "state.working": ("办理中", "in work"),
        "state.suspended": ("已挂起", "suspended"),
        "state.cohandling": ("协办中", "co-handling"),
        "state.answered": ("已答复", "answered"),
        "state.callback_due": ("待回访", "callback due"),
        "state.redo": ("重办", "redo"),
        "state.closed": ("已办结", "closed"),
        "state.resolved": ("已解决", "resolved"),
        "state.rejected": ("已驳回", "rejected"),
        "state.merged": ("已合并", "merged"),
        "state.cancelled": ("已撤销", "cancelled"),
        "case.title": ("案件", "Case"),
        "case.problem": ("问题", "Problem"),
        "case.enterprise": ("企业", "Enterprise"),
        "case.contact": ("联系方式", "Contact"),
        "case.channel": ("渠道", "Channel"),
        "case.received": ("受理时间", "Received"),
        "case.level": ("层级", "Level"),
        "case.routing": ("分拨依据", "Routing explanation"),
        "case.confidence": ("置信度", "Confidence"),
        "case.source": ("来源", "Source"),
        "case.terms": ("关键词（权重）", "Terms (weight)"),
        "case.clocks": ("时限", "Clocks"),
        "case.rule": ("时限规则", "Deadline rule"),
        "case.timeline": ("办理记录", "Ledger"),
        "case.actions": ("办理", "Actions"),
        "case.noActions": ("此登录在当前状态下没有可办理的操作。", "Nothing this login can do in this state."),
        "case.cohandling": ("协办", "Co-handling"),
        "case.answers": ("答复与回访", "Answers and callbacks"),
        "case.notFound": ("没有此案件，或您无权查看。", "No such case, or not one you may see."),
        "case.by": ("办理人", "by"),
        "action.signOff": ("签收", "Sign off"),
        "action.suspend": ("挂起", "Suspend"),
        "action.suspend.until": ("最晚恢复时间（如 2d、8h，或 ISO 时间）", "Resume at the latest (e.g. 2d, 8h, or an ISO time)"),
        "action.reason": ("原因", "Reason"),
        "action.resume": ("恢复办理", "Resume"),
        "action.return": ("退回分拨", "Return to triage"),
        "action.cohandle": ("申请协办", "Ask for co-handling"),
        "action.cohandle.with": ("协办专班", "Task forces to ask"),
        "action.cohandle.question": ("需要协办的问题", "What you need from them"),
        "action.cohandleReply": ("回复协办", "Reply to co-handling"),
        "action.answer": ("答复企业", "Answer the enterprise"),
        "action.answer.text": ("答复内容（已预填建议稿，可修改）", "Answer (the advisor's draft, pre-filled; edit freely)"),
        "action.answer.drafted": ("基于建议稿", "Based on the advisor's draft"),
        "action.callback": ("记录回访", "Record the callback"),
        "action.callback.note": ("企业意见", "What the enterprise said"),
        "action.supervise": ("督办", "Supervise"),
        "action.chase": ("催办", "Chase"),
        "action.note": ("批示", "Note"),
        "action.assign": ("分拨到", "Assign to"),
        "action.done": ("已完成：", "Done: "),
        "satisfaction.satisfied": ("满意", "satisfied"),
        "satisfaction.basically_satisfied": ("基本满意", "basically satisfied"),
        "satisfaction.unsatisfied": ("不满意（重办）", "unsatisfied (redo)"),
        "triage.title": ("分拨台", "Triage desk"),
        "triage.empty": ("分拨队列为空。", "The triage backlog is empty."),
        "triage.hint": ("一键分拨；更正会保留用于模型训练。", "One click assigns; the correction is kept for training."),
        "triage.notOperator": ("只有话务员可以分拨。", "Only operators assign from triage."),
        "leader.title": ("领导视图", "Leader view"),
        "leader.solutionBreached": ("办结超时", "Solution clock breached"),
        "leader.signoffBreached": ("签收超时", "Sign-off clock breached"),
        "leader.supervised": ("督办中的案件", "Supervised cases"),
        "leader.kpis": ("本月考核（三率、退单率、重办率）与排名", "This month: the three rates, return and redo rates, ranking"),
        "leader.none": ("无", "None"),
        "leader.notLeader": ("只有领导可以查看此页。", "Only leaders see this page."),
        "kpi.rank": ("排名", "Rank"),
        "kpi.held": ("人工办理", "Held"),
        "kpi.response": ("响应率", "Response"),
        "kpi.resolution": ("办结率", "Resolution"),
        "kpi.satisfaction": ("满意率", "Satisfaction"),
        "kpi.return": ("退单率", "Returns"),
        "kpi.redo": ("重办率", "Redo"),
        "kpi.supervised": ("督办", "Supervised"),
        "kpi.chased": ("催办", "Chased"),
        "kpi.score": ("得分", "Score"),
        "error.title": ("出错了", "Something went wrong"),
        "error.database": ("数据库暂时不可用，请稍后再试。", "The database is not answering; try again shortly."),
        "forbidden.title": ("无权访问", "Not permitted"),
        "event.received": ("受理", "received"),
        "event.classified": ("分类", "classified"),
        "event.deadline_set": ("设定时限", "deadline set"),
        "event.enqueued": ("入队", "enqueued"),
        "event.claimed": ("领取", "claimed"),
        "event.attempt_failed": ("处理失败", "attempt failed"),
        "event.resolved": ("解决", "resolved"),
        "event.rejected": ("驳回", "rejected"),
        "event.escalated": ("升级", "escalated"),
        "event.rerouted": ("改派", "rerouted"),
        "event.assigned": ("分拨", "assigned"),
        "event.held_for_people": ("转人工", "held for people"),
        "event.signed_off": ("签收", "signed off"),
        "event.returned": ("退回", "returned"),
        "event.suspended": ("挂起", "suspended"),
        "event.resumed": ("恢复", "resumed"),
        "event.cohandling_requested": ("申请协办", "co-handling requested"),
        "event.cohandling_replied": ("协办回复", "co-handling replied"),
        "event.answered": ("答复", "answered"),
        "event.callback_due": ("待回访", "callback due"),
        "event.callback_recorded": ("回访", "callback recorded"),
        "event.closed": ("办结", "closed"),
        "event.redo": ("重办", "redo"),
        "event.supervised": ("督办", "supervised"),
        "event.chased": ("催办", "chased"),
        "event.deadline_warning": ("时限预警", "deadline warning"),
        "event.deadline_breached": ("超时", "deadline breached"),
        "event.cancelled": ("撤销", "cancelled"),
        "event.discarded": ("放弃", "discarded"),
        "event.merged": ("合并", "merged"),
        "event.repeated": ("重复诉求", "repeated"),
        "event.reopened": ("重开", "reopened"),
    ]
}
