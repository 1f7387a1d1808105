import CaseLedger
import Foundation
import PostgresClient
import TaskForces

/// The console's pages, rendered on the server as self-contained HTML (one stylesheet and
/// one small script of its own; nothing fetched from elsewhere). Every value from the
/// database or the request is escaped with ``HTML/escape(_:)``.
struct ConsolePages {
    let text: ConsoleText
    let timeZone: TimeZone

    private var e: (String) -> String { HTML.escape }

    // MARK: Layout

    /// The frame of every page: header with navigation, language switch and logout.
    func layout(title: String, session: ConsoleSession?, path: String, current: String = "", body: String) -> String {
        var nav = ""
        if let session {
            let identity = session.identity
            nav += link("/", text["nav.inbox"], current: current == "inbox", accessKey: "i")
            if identity.dispatcher { nav += link("/triage", text["nav.triage"], current: current == "triage", accessKey: "t") }
            if identity.leader { nav += link("/leader", text["nav.leader"], current: current == "leader", accessKey: "l") }
        }
        let other: ConsoleLanguage = text.language == .zh ? .en : .zh
        nav += "<a href=\"/lang/\(other.rawValue)?next=\(HTML.query(path))\" lang=\"\(other.htmlTag)\" accesskey=\"g\" id=\"language\">\(e(text["nav.language"]))</a>"
        if let session {
            nav += "<span class=\"who\" id=\"who\">\(e(session.identity.login))</span>"
            nav += "<form method=\"post\" action=\"/logout\">\(csrfField(session))<button type=\"submit\" id=\"logout\">\(e(text["nav.logout"]))</button></form>"
        }
        return """
        <!doctype html>
        <html lang="\(text.language.htmlTag)"><head><meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(e(title)) · \(e(text["app.title"]))</title>
        <link rel="stylesheet" href="/assets/console.css">
        </head><body>
        <a class="skip" href="#main">\(e(text["nav.skip"]))</a>
        <header><span class="brand">\(e(text["app.title"]))</span><nav>\(nav)</nav></header>
        <main id="main" tabindex="-1">
        \(body)
        </main>
        <script src="/assets/console.js"></script>
        </body></html>
        """
    }

    private func link(_ href: String, _ label: String, current: Bool, accessKey: String) -> String {
        "<a href=\"\(href)\" accesskey=\"\(accessKey)\"\(current ? " aria-current=\"page\"" : "")>\(e(label))</a>"
    }

    func csrfField(_ session: ConsoleSession) -> String {
        "<input type=\"hidden\" name=\"csrf\" value=\"\(e(session.csrfToken))\">"
    }

    func flash(_ flash: ConsoleSession.Flash?) -> String {
        guard let flash else { return "" }
        return "<p class=\"flash\(flash.isError ? " error" : "")\" role=\"\(flash.isError ? "alert" : "status")\" id=\"flash\">\(e(flash.text))</p>"
    }

    // MARK: Login

    func login(csrf: String, message: String?, isError: Bool, username: String, next: String) -> String {
        let note = message.map { "<p class=\"flash\(isError ? " error" : "")\" role=\"alert\" id=\"flash\">\(e($0))</p>" } ?? ""
        return layout(title: text["login.title"], session: nil, path: "/login", body: """
            <div class="login card">
            <h1>\(e(text["login.title"]))</h1>
            \(note)
            <p class="muted">\(e(text["login.hint"]))</p>
            <form method="post" action="/login" id="login-form">
            <input type="hidden" name="csrf" value="\(e(csrf))">
            <input type="hidden" name="next" value="\(e(next))">
            <label for="username">\(e(text["login.username"]))</label>
            <input type="text" id="username" name="username" value="\(e(username))" autocomplete="username" autocapitalize="none" spellcheck="false" required autofocus>
            <label for="password">\(e(text["login.password"]))</label>
            <input type="password" id="password" name="password" autocomplete="current-password" required>
            <p><button class="primary" type="submit" id="login-submit">\(e(text["login.submit"]))</button></p>
            </form></div>
            """)
    }

    // MARK: Clocks and rows

    func time(_ date: Date?) -> String {
        guard let date else { return "–" }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = timeZone
        formatter.dateFormat = "yyyy-MM-dd HH:mm"
        return formatter.string(from: date)
    }

    func clock(_ clock: ConsoleClock?, kind: String) -> String {
        guard let clock else { return "<span class=\"muted\">–</span>" }
        let label: String
        switch clock.status {
        case .paused: label = text["clock.paused"] + " · " + text.duration(clock.left) + " " + text["clock.left"]
        case .breached: label = text["clock.breached"] + " " + text.duration(clock.left)
        case .atRisk: label = text["clock.atRisk"] + " · " + text.duration(clock.left) + " " + text["clock.left"]
        case .onTime: label = text.duration(clock.left) + " " + text["clock.left"]
        }
        return "<span class=\"clock \(clock.status.rawValue)\" data-clock=\"\(kind)\" data-status=\"\(clock.status.rawValue)\" title=\"\(e(time(clock.due)))\">\(e(label))</span>"
    }

    func caseRows(_ rows: [ConsoleCaseRow], now: Date) -> String {
        guard !rows.isEmpty else { return "<p class=\"muted\" id=\"empty\">\(e(text["inbox.empty"]))</p>" }
        var html = """
            <table class="cases"><thead><tr><th scope="col">\(e(text["col.case"]))</th><th scope="col">\(e(text["col.taskForce"]))</th>
            <th scope="col">\(e(text["col.state"]))</th><th scope="col">\(e(text["col.signoff"]))</th><th scope="col">\(e(text["col.solution"]))</th>
            <th scope="col">\(e(text["col.enterprise"]))</th><th scope="col">\(e(text["col.problem"]))</th><th scope="col">\(e(text["col.flags"]))</th></tr></thead><tbody>
            """
        for row in rows {
            var solution = clock(row.solutionClock(now: now), kind: "solution")
            if row.state == "answered" || row.state == "callback_due" {
                solution = "<span class=\"muted\">\(e(text["clock.callback"])) \(e(time(row.callbackDueAt)))</span>"
            }
            let flags = [row.supervisedCount > 0 ? "\(text["kpi.supervised"]) \(row.supervisedCount)" : nil,
                         row.chasedCount > 0 ? "\(text["kpi.chased"]) \(row.chasedCount)" : nil].compactMap { $0 }.joined(separator: " · ")
            html += """
                <tr data-href="/cases/\(row.id)" tabindex="0" data-case-id="\(row.id)" data-task-force="\(e(row.taskForce))" data-state="\(e(row.state))">
                <td data-label="\(e(text["col.case"]))"><a href="/cases/\(row.id)">#\(row.id)</a>\(row.urgent ? " <strong>!</strong>" : "")</td>
                <td data-label="\(e(text["col.taskForce"]))">\(e(text.taskForce(row.taskForce)))</td>
                <td data-label="\(e(text["col.state"]))"><span class="state">\(e(text.state(row.state)))</span></td>
                <td data-label="\(e(text["col.signoff"]))">\(clock(row.signOffClock(now: now), kind: "signoff"))</td>
                <td data-label="\(e(text["col.solution"]))">\(solution)</td>
                <td data-label="\(e(text["col.enterprise"]))">\(e(row.enterprise ?? "–"))</td>
                <td data-label="\(e(text["col.problem"]))">\(e(row.text))</td>
                <td data-label="\(e(text["col.flags"]))">\(e(flags.isEmpty ? "–" : flags))</td></tr>
                """
        }
        return html + "</tbody></table>"
    }

    // MARK: Inbox

    struct InboxQuery {
        var state: String?
        var taskForce: TaskForce?
        var sort: InboxSort
        var after: String?
        var size: Int

        func path(after: String?) -> String {
            var parts: [String] = []
            if let state { parts.append("state=" + HTML.query(state)) }
            if let taskForce { parts.append("tf=" + taskForce.rawValue) }
            if sort != .due { parts.append("sort=" + sort.rawValue) }
            if size != 50 { parts.append("size=\(size)") }
            if let after { parts.append("after=" + HTML.query(after)) }
            return "/" + (parts.isEmpty ? "" : "?" + parts.joined(separator: "&"))
        }
    }

    func inbox(session: ConsoleSession, inbox: ConsoleInbox, requests: [CaseworkInbox.Request], query: InboxQuery, now: Date,
               flash: ConsoleSession.Flash?) -> String {
        var states = "<option value=\"\">\(e(text["inbox.allStates"]))</option>"
        for state in ConsoleInbox.states {
            states += "<option value=\"\(state)\"\(query.state == state ? " selected" : "")>\(e(text.state(state)))</option>"
        }
        var taskForces = "<option value=\"\">\(e(text["inbox.allTaskForces"]))</option>"
        for taskForce in TaskForce.departments {
            taskForces += "<option value=\"\(taskForce.rawValue)\"\(query.taskForce == taskForce ? " selected" : "")>\(e(text.taskForce(taskForce.rawValue)))</option>"
        }
        var sorts = ""
        for sort in InboxSort.allCases {
            sorts += "<option value=\"\(sort.rawValue)\"\(query.sort == sort ? " selected" : "")>\(e(text["inbox.sort." + sort.rawValue]))</option>"
        }
        var requestList = ""
        if !requests.isEmpty {
            requestList = "<h2>\(e(text["inbox.requests"]))</h2><ul id=\"requests\">"
            for request in requests {
                requestList += "<li><a href=\"/cases/\(request.caseID)\">#\(request.caseID)</a> \(e(text.taskForce(request.leadTaskForce))) → \(e(text.taskForce(request.taskForce))): \(e(request.question))</li>"
            }
            requestList += "</ul>"
        }
        var pager = "<nav class=\"pager\" aria-label=\"pages\">"
        if query.after != nil { pager += "<a href=\"\(e(query.path(after: nil)))\" id=\"first-page\">\(e(text["inbox.first"]))</a>" }
        if let next = inbox.next { pager += "<a href=\"\(e(query.path(after: next)))\" id=\"next-page\" rel=\"next\" accesskey=\"n\">\(e(text["inbox.next"])) →</a>" }
        pager += "</nav>"
        let page = """
            \(self.flash(flash))
            <h1>\(e(text["inbox.title"]))</h1>
            <form class="filters" method="get" action="/" role="search">
            <label for="filter-state">\(e(text["col.state"]))<select id="filter-state" name="state">\(states)</select></label>
            <label for="filter-tf">\(e(text["col.taskForce"]))<select id="filter-tf" name="tf">\(taskForces)</select></label>
            <label for="filter-sort">\(e(text["inbox.sort"]))<select id="filter-sort" name="sort">\(sorts)</select></label>
            <button class="primary" type="submit" id="filter-apply">\(e(text["inbox.apply"]))</button>
            </form>
            \(caseRows(inbox.rows, now: now))
            \(pager)
            \(requestList)
            <p class="muted">\(e(text["inbox.keys"]))</p>
            """
        return layout(title: text["inbox.title"], session: session, path: query.path(after: query.after), current: "inbox", body: page)
    }

    // MARK: Case page

    func casePage(session: ConsoleSession, record: CaseRecord, draft: String?, now: Date, flash: ConsoleSession.Flash?) -> String {
        let identity = session.identity
        let state = record.state.rawValue
        var facts = """
            <dl class="facts">
            <dt>\(e(text["col.taskForce"]))</dt><dd id="case-task-force">\(e(text.taskForce(record.taskForce.rawValue)))</dd>
            <dt>\(e(text["col.state"]))</dt><dd id="case-state" data-state="\(e(state))">\(e(text.state(state)))</dd>
            <dt>\(e(text["case.enterprise"]))</dt><dd>\(e(record.enterprise ?? "–"))</dd>
            <dt>\(e(text["case.contact"]))</dt><dd>\(e(record.contact ?? "–"))</dd>
            <dt>\(e(text["case.channel"]))</dt><dd>\(e(record.channel))</dd>
            <dt>\(e(text["case.received"]))</dt><dd>\(e(time(record.receivedAt)))</dd>
            <dt>\(e(text["case.level"]))</dt><dd>\(record.escalationLevel)</dd>
            """
        facts += "</dl>"
        // Clocks.
        let row = ConsoleClockFacts(record: record)
        var clocks = "<dl class=\"facts\">"
        clocks += "<dt>\(e(text["col.signoff"]))</dt><dd>\(clock(row.signOff(now: now), kind: "signoff")) <span class=\"muted\">\(e(time(record.casework.signoffDueAt)))</span></dd>"
        clocks += "<dt>\(e(text["col.solution"]))</dt><dd>\(clock(row.solution(now: now), kind: "solution")) <span class=\"muted\">\(e(time(record.dueAt)))</span></dd>"
        if let callback = record.casework.callbackDueAt {
            clocks += "<dt>\(e(text["clock.callback"]))</dt><dd>\(e(time(callback)))</dd>"
        }
        if let rule = record.deadlineRule { clocks += "<dt>\(e(text["case.rule"]))</dt><dd class=\"muted\">\(e(rule))</dd>" }
        clocks += "</dl>"
        // Routing explanation.
        var terms = ""
        if let data = record.routingTerms.data(using: .utf8), let list = try? JSONSerialization.jsonObject(with: data) as? [Any] {
            terms = list.compactMap { item -> String? in
                if let object = item as? [String: Any], let term = object["term"] as? String {
                    let weight = (object["weight"] as? Double).map { String(format: "%.2f", $0) } ?? ""
                    return "<li>\(e(term)) <span class=\"muted\">\(e(weight))</span></li>"
                }
                return (item as? String).map { "<li>\(e($0))</li>" }
            }.joined()
        }
        let confidence = record.confidence.map { String(format: "%.0f%%", $0 * 100) } ?? "–"
        let routing = """
            <dl class="facts"><dt>\(e(text["case.confidence"]))</dt><dd id="routing-confidence">\(e(confidence))</dd>
            <dt>\(e(text["case.source"]))</dt><dd>\(e(record.routingSource))</dd></dl>
            <p class="muted">\(e(text["case.terms"]))</p><ul id="routing-terms">\(terms.isEmpty ? "<li>–</li>" : terms)</ul>
            """
        // Timeline.
        var timeline = "<ol class=\"timeline\" id=\"timeline\">"
        for event in record.events {
            let who = event.login.map { $0 == event.actor ? $0 : "\(event.actor) [\($0)]" } ?? event.actor
            timeline += "<li data-event=\"\(e(event.type))\"><span class=\"t\">\(e(text.event(event.type)))</span> <span class=\"muted\">\(e(time(event.at))) · \(e(who))</span><div class=\"data\">\(e(eventSummary(event.data)))</div></li>"
        }
        timeline += "</ol>"
        // Co-handling and answers.
        var extra = ""
        if !record.casework.cohandling.isEmpty {
            extra += "<h2>\(e(text["case.cohandling"]))</h2><ul>"
            for item in record.casework.cohandling {
                extra += "<li>\(e(text.taskForce(item.taskForce))): \(e(item.question))"
                if let reply = item.reply { extra += "<br><span class=\"muted\">→ \(e(reply)) (\(e(item.repliedBy ?? "")))</span>" }
                extra += "</li>"
            }
            extra += "</ul>"
        }
        if !record.casework.answers.isEmpty {
            extra += "<h2>\(e(text["case.answers"]))</h2><ul>"
            for answer in record.casework.answers {
                extra += "<li>#\(answer.round) \(e(answer.answer)) <span class=\"muted\">\(e(answer.answeredBy)) · \(e(time(answer.answeredAt)))</span>"
                if let satisfaction = answer.satisfaction {
                    extra += "<br><span class=\"muted\">\(e(text["satisfaction." + satisfaction])) \(e(answer.callbackNote ?? ""))</span>"
                }
                extra += "</li>"
            }
            extra += "</ul>"
        }
        let actions = actionForms(session: session, record: record, draft: draft)
        let body = """
            \(self.flash(flash))
            <h1>\(e(text["case.title"])) #\(record.id)</h1>
            <div class="grid">
            <div>
            <section class="card"><h2>\(e(text["case.problem"]))</h2><p class="problem" id="case-text">\(e(record.text))</p>\(facts)</section>
            <section class="card"><h2>\(e(text["case.clocks"]))</h2>\(clocks)</section>
            <section class="card"><h2>\(e(text["case.routing"]))</h2>\(routing)</section>
            <section class="card"><h2>\(e(text["case.timeline"]))</h2>\(timeline)\(extra)</section>
            </div>
            <div><section class="card actions" id="actions"><h2>\(e(text["case.actions"]))</h2>\(actions)</section></div>
            </div>
            """
        _ = identity
        return layout(title: "\(text["case.title"]) #\(record.id)", session: session, path: "/cases/\(record.id)", body: body)
    }

    /// An event's data as `key: value` pairs.
    func eventSummary(_ json: String) -> String {
        guard let data = json.data(using: .utf8), let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any], !object.isEmpty else {
            return ""
        }
        return object.keys.sorted().map { key in
            let value = object[key].map { value -> String in
                if let text = value as? String { return text }
                if let number = value as? NSNumber { return number.stringValue }
                if value is NSNull { return "–" }
                if JSONSerialization.isValidJSONObject(value), let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys]) {
                    return String(decoding: data, as: UTF8.self)
                }
                return String(describing: value)
            } ?? ""
            return "\(key): \(value.count > 300 ? String(value.prefix(300)) + "…" : value)"
        }.joined(separator: " · ")
    }

    private func form(_ action: String, id: Int64, session: ConsoleSession, label: String, fields: String = "") -> String {
        "<form method=\"post\" action=\"/cases/\(id)/\(action)\" id=\"form-\(action)\">\(csrfField(session))\(fields)<button type=\"submit\" id=\"do-\(action)\">\(e(label))</button></form>"
    }

    /// The actions this login may take in this state (the database decides in the end).
    func actionForms(session: ConsoleSession, record: CaseRecord, draft: String?) -> String {
        let identity = session.identity
        let id = record.id
        let own = identity.officerOf.contains(record.taskForce)
        var html = ""
        func reason(_ name: String = "reason", label: String? = nil, value: String = "") -> String {
            "<label for=\"\(name)-\(html.count)\">\(e(label ?? text["action.reason"]))</label><input type=\"text\" id=\"\(name)-\(html.count)\" name=\"\(name)\" value=\"\(e(value))\" required>"
        }
        switch record.state {
        case .signoff where own, .redo where own:
            html += form("sign-off", id: id, session: session, label: text["action.signOff"])
            html += form("return", id: id, session: session, label: text["action.return"], fields: reason())
        case .working where own:
            let answer = """
                <label for="answer-text">\(e(text["action.answer.text"]))</label>
                <textarea id="answer-text" name="text" required>\(e(draft ?? ""))</textarea>
                <label><input type="checkbox" name="drafted" value="1"\(draft == nil ? "" : " checked")> \(e(text["action.answer.drafted"]))</label>
                """
            html += form("answer", id: id, session: session, label: text["action.answer"], fields: answer)
            let suspend = """
                <label for="suspend-until">\(e(text["action.suspend.until"]))</label><input type="text" id="suspend-until" name="until" value="2d" required>
                <label for="suspend-reason">\(e(text["action.reason"]))</label><input type="text" id="suspend-reason" name="reason" required>
                """
            html += form("suspend", id: id, session: session, label: text["action.suspend"], fields: suspend)
            var partners = "<fieldset><legend class=\"muted\">\(e(text["action.cohandle.with"]))</legend>"
            for taskForce in TaskForce.departments where taskForce != record.taskForce {
                partners += "<label><input type=\"checkbox\" name=\"with\" value=\"\(taskForce.rawValue)\"> \(e(text.taskForce(taskForce.rawValue)))</label>"
            }
            partners += "</fieldset><label for=\"cohandle-question\">\(e(text["action.cohandle.question"]))</label><input type=\"text\" id=\"cohandle-question\" name=\"question\" required>"
            html += form("cohandle", id: id, session: session, label: text["action.cohandle"], fields: partners)
            html += form("return", id: id, session: session, label: text["action.return"], fields: reason())
        case .suspended where own:
            html += form("resume", id: id, session: session, label: text["action.resume"])
        default:
            break
        }
        // A partner asked to co-handle, not yet replied.
        for request in record.casework.cohandling where request.reply == nil {
            guard let partner = TaskForce(rawValue: request.taskForce), identity.officerOf.contains(partner) else { continue }
            let fields = """
                <input type="hidden" name="as" value="\(partner.rawValue)">
                <label for="reply-\(partner.rawValue)">\(e(text.taskForce(partner.rawValue))): \(e(request.question))</label>
                <textarea id="reply-\(partner.rawValue)" name="text" required></textarea>
                """
            html += form("cohandle-reply", id: id, session: session, label: text["action.cohandleReply"], fields: fields)
        }
        if identity.dispatcher, record.state == .answered || record.state == .callbackDue {
            var fields = ""
            for satisfaction in Satisfaction.allCases {
                fields += "<label><input type=\"radio\" name=\"satisfaction\" value=\"\(satisfaction.rawValue)\" required> \(e(text["satisfaction." + satisfaction.rawValue]))</label>"
            }
            fields += "<label for=\"callback-note\">\(e(text["action.callback.note"]))</label><input type=\"text\" id=\"callback-note\" name=\"note\">"
            html += form("callback", id: id, session: session, label: text["action.callback"], fields: fields)
        }
        if identity.dispatcher, !own, [.signoff, .working, .redo].contains(record.state) {
            html += form("return", id: id, session: session, label: text["action.return"], fields: reason())
        }
        if identity.leader, [.open, .signoff, .working, .suspended, .cohandling, .redo].contains(record.state) {
            html += form("supervise", id: id, session: session, label: text["action.supervise"], fields: reason("note", label: text["action.note"]))
            html += form("chase", id: id, session: session, label: text["action.chase"], fields: reason("note", label: text["action.note"]))
        }
        return html.isEmpty ? "<p class=\"muted\" id=\"no-actions\">\(e(text["case.noActions"]))</p>" : html
    }

    // MARK: Triage

    func triage(session: ConsoleSession, entries: [TriageEntry], flash: ConsoleSession.Flash?) -> String {
        var rows = ""
        for entry in entries {
            var buttons = ""
            for suggestion in entry.suggestions {
                buttons += "<button type=\"submit\" name=\"to\" value=\"\(suggestion.taskForce.rawValue)\" data-to=\"\(suggestion.taskForce.rawValue)\">\(e(text.taskForce(suggestion.taskForce.rawValue))) \(String(format: "%.0f%%", suggestion.probability * 100))</button>"
            }
            var others = "<select name=\"to\" aria-label=\"\(e(text["action.assign"]))\">"
            for taskForce in TaskForce.departments { others += "<option value=\"\(taskForce.rawValue)\">\(e(text.taskForce(taskForce.rawValue)))</option>" }
            others += "</select>"
            rows += """
                <tr data-case-id="\(entry.id)"><td data-label="\(e(text["col.case"]))"><a href="/cases/\(entry.id)">#\(entry.id)</a></td>
                <td data-label="\(e(text["col.received"]))">\(e(time(entry.receivedAt)))</td>
                <td data-label="\(e(text["col.enterprise"]))">\(e(entry.enterprise ?? "–"))</td>
                <td data-label="\(e(text["col.problem"]))">\(e(entry.text.count > 200 ? String(entry.text.prefix(200)) + "…" : entry.text))</td>
                <td data-label="\(e(text["col.suggestions"]))" class="suggest">
                <form method="post" action="/triage/\(entry.id)/assign" class="suggest-form">\(csrfField(session))\(buttons)</form>\(entry.cohandling.map { "<p class=\"muted cohandling\" data-cohandling=\"\($0.rawValue)\">\(e(text["triage.cohandling"])): \(e(text.taskForce($0.rawValue)))</p>" } ?? "")
                <form method="post" action="/triage/\(entry.id)/assign">\(csrfField(session))\(others) <button type="submit">\(e(text["action.assign"]))</button></form>
                </td></tr>
                """
        }
        let table = entries.isEmpty ? "<p class=\"muted\" id=\"empty\">\(e(text["triage.empty"]))</p>" : """
            <table class="cases" id="triage"><thead><tr><th scope="col">\(e(text["col.case"]))</th><th scope="col">\(e(text["col.received"]))</th>
            <th scope="col">\(e(text["col.enterprise"]))</th><th scope="col">\(e(text["col.problem"]))</th><th scope="col">\(e(text["col.suggestions"]))</th></tr></thead>
            <tbody>\(rows)</tbody></table>
            """
        return layout(title: text["triage.title"], session: session, path: "/triage", current: "triage", body: """
            \(self.flash(flash))<h1>\(e(text["triage.title"]))</h1><p class="muted">\(e(text["triage.hint"]))</p>\(table)
            """)
    }

    // MARK: Leader view

    func leader(session: ConsoleSession, view: ConsoleLeaderView, now: Date, flash: ConsoleSession.Flash?) -> String {
        func rate(_ value: Double?) -> String { value.map { String(format: "%.0f%%", $0 * 100) } ?? "–" }
        var kpis = """
            <table id="kpis"><thead><tr><th scope="col">\(e(text["kpi.rank"]))</th><th scope="col">\(e(text["col.taskForce"]))</th>
            <th scope="col">\(e(text["kpi.held"]))</th><th scope="col">\(e(text["kpi.response"]))</th><th scope="col">\(e(text["kpi.resolution"]))</th>
            <th scope="col">\(e(text["kpi.satisfaction"]))</th><th scope="col">\(e(text["kpi.return"]))</th><th scope="col">\(e(text["kpi.redo"]))</th>
            <th scope="col">\(e(text["kpi.supervised"]))</th><th scope="col">\(e(text["kpi.chased"]))</th><th scope="col">\(e(text["kpi.score"]))</th></tr></thead><tbody>
            """
        for row in view.kpis {
            kpis += """
                <tr data-task-force="\(e(row.taskForce))"><td>\(row.rank)</td><td>\(e(text.taskForce(row.taskForce)))</td><td>\(row.held)</td>
                <td>\(rate(row.responseRate))</td><td>\(rate(row.resolutionRate))</td><td>\(rate(row.satisfactionRate))</td>
                <td>\(rate(row.returnRate))</td><td>\(rate(row.redoRate))</td><td>\(row.supervised)</td><td>\(row.chased)</td>
                <td>\(String(format: "%.2f", row.score))</td></tr>
                """
        }
        kpis += "</tbody></table>"
        if view.kpis.isEmpty { kpis = "<p class=\"muted\">\(e(text["leader.none"]))</p>" }
        func list(_ id: String, _ title: String, _ rows: [ConsoleCaseRow]) -> String {
            "<section class=\"card\" id=\"\(id)\"><h2>\(e(title)) (\(rows.count))</h2>\(rows.isEmpty ? "<p class=\"muted\">\(e(text["leader.none"]))</p>" : caseRows(rows, now: now))</section>"
        }
        return layout(title: text["leader.title"], session: session, path: "/leader", current: "leader", body: """
            \(self.flash(flash))<h1>\(e(text["leader.title"]))</h1>
            \(list("solution-breached", text["leader.solutionBreached"], view.solutionBreached))
            \(list("signoff-breached", text["leader.signoffBreached"], view.signoffBreached))
            \(list("supervised", text["leader.supervised"], view.supervised))
            <section class="card"><h2>\(e(text["leader.kpis"]))</h2>\(kpis)</section>
            """)
    }

    // MARK: Errors

    func message(title: String, text message: String, session: ConsoleSession?) -> String {
        layout(title: title, session: session, path: "/", body: "<h1>\(e(title))</h1><p id=\"message\">\(e(message))</p><p><a href=\"/\">\(e(text["nav.inbox"]))</a></p>")
    }
}

/// The two clocks of a case record, as the lists compute them.
struct ConsoleClockFacts {
    let record: CaseRecord

    func signOff(now: Date) -> ConsoleClock? {
        guard record.state == .signoff || record.state == .redo, let due = record.casework.signoffDueAt else { return nil }
        return ConsoleClock(due: due, warn: due.addingTimeInterval(-ConsoleClock.signOffWarning), now: now)
    }

    func solution(now: Date) -> ConsoleClock? {
        guard let due = record.dueAt else { return nil }
        if record.state == .suspended { return ConsoleClock(due: due, warn: record.warnAt, now: now, paused: true) }
        guard [.open, .signoff, .working, .cohandling, .redo].contains(record.state) else { return nil }
        return ConsoleClock(due: due, warn: record.warnAt, now: now)
    }
}
