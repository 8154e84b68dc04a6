/// The pages' Mustache templates. Every template starts with `CONTENT_TYPE: SAFEHTML`, so each
/// `{{value}}` is escaped by ``SafeHTML``; the one unescaped `{{{body}}}` in the layout takes the
/// page already rendered by these templates. Kept in the binary (no files to install).
enum PageTemplates {
    static let pragma = "{{% CONTENT_TYPE: SAFEHTML}}"

    static let all: [String: String] = [
        "layout": layout, "signin": signin, "code": code, "enrol": enrol, "inbox": inbox, "pack": pack,
        "send": send, "sent": sent, "outgoing": outgoing, "problem": problem, "timeline": timeline, "audit": audit,
        "preview": preview,
        "health": health,
    ]

    static let layout = """
        <!doctype html>
        <html lang="en-GB">
        <head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{{title}} – Gatehouse</title><link rel="stylesheet" href="/static/style.css">
        {{#refresh}}<meta http-equiv="refresh" content="{{refresh}}">{{/refresh}}</head>
        <body>
        <a class="skip" href="#main">Skip to main content</a>
        <header class="top"><div class="wrap"><span class="brand">Gatehouse</span>
        {{#user}}<nav aria-label="Main">{{#inbox}}<a href="/inbox">Inbox</a>{{/inbox}}\
        {{#sends}}<a href="/send">Send</a><a href="/outgoing">Outgoing</a>{{/sends}}\
        {{#admin}}<a href="/health">Health</a><a href="/audit">Audit</a>{{/admin}}</nav>
        <form method="post" action="/signout" class="signout"><input type="hidden" name="csrf" value="{{csrf}}">
        <span class="who">{{user}} ({{role}})</span> <button type="submit" class="link">Sign out</button>\
        </form>{{/user}}
        </div></header>
        <main id="main" class="wrap">{{{body}}}</main>
        </body></html>
        """

    static let errorSummary = """
        {{#error}}<div class="error-summary" role="alert" tabindex="-1"><h2>There is a problem</h2>\
        <p>{{error}}</p></div>{{/error}}
        """

    static let signin = """
        <h1>Sign in</h1>
        \(errorSummary)
        <form method="post" action="/signin" class="narrow">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label for="username">Account name</label>
        <input id="username" name="username" autocomplete="username" autocapitalize="none" spellcheck="false" required>
        <label for="password">Password</label>
        <input id="password" name="password" type="password" autocomplete="current-password" required>
        <button type="submit">Continue</button>
        </form>
        """

    static let code = """
        <h1>Enter your security code</h1>
        \(errorSummary)
        <form method="post" action="/signin/code" class="narrow">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label for="code">6-digit code from your authenticator app</label>
        <input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9 ]*" required>
        <button type="submit">Sign in</button>
        </form>
        """

    static let enrol = """
        <h1>Set up your security code</h1>
        \(errorSummary)
        <p>Scan this code with an authenticator app, then type the 6-digit code it shows.</p>
        <img src="/signin/enrol/qr.svg" alt="QR code for your authenticator app" class="qr" width="240" height="240">
        <p>Or type this key into the app: <code class="secret">{{secret}}</code></p>
        <details><summary>Set-up link</summary><p><code class="uri">{{uri}}</code></p></details>
        <form method="post" action="/signin/enrol" class="narrow">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label for="code">6-digit code</label>
        <input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9 ]*" required>
        <button type="submit">Confirm and sign in</button>
        </form>
        """

    static let inbox = """
        <h1>Inbox</h1>
        \(errorSummary)
        <form method="post" action="/inbox" class="search">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <div><label for="nhs">NHS number</label><input id="nhs" name="nhs" value="{{q.nhs}}" inputmode="numeric"></div>
        <div><label for="text">Subject contains</label><input id="text" name="text" value="{{q.text}}"></div>
        <div><label for="sender">Sender (ODS code)</label><input id="sender" name="sender" value="{{q.sender}}"></div>
        <div><label for="workflow">Workflow</label><input id="workflow" name="workflow" value="{{q.workflow}}"></div>
        <div><label for="from">Received from (YYYY-MM-DD)</label><input id="from" name="from" value="{{q.from}}"></div>
        <div><label for="to">Received to (YYYY-MM-DD)</label><input id="to" name="to" value="{{q.to}}"></div>
        <div class="actions"><button type="submit">Search</button> <a href="/inbox">Clear</a></div>
        </form>
        <p class="count">{{summary}}</p>
        {{#hasRows}}<table class="list"><caption class="visually-hidden">Received packs, newest first</caption>
        <thead><tr><th scope="col">Received</th><th scope="col">From</th><th scope="col">Subject</th>\
        <th scope="col">Workflow</th><th scope="col">NHS numbers</th><th scope="col">Files</th>\
        <th scope="col">Handled</th></tr></thead>
        <tbody>{{/hasRows}}{{#rows}}<tr><td>{{received}}</td><td>{{senderName}} <span class="ods">{{sender}}</span></td>
        <td><a href="/pack/{{id}}">{{subject}}</a>{{#reason}} <strong class="tag warn">{{outcome}}: \
        {{reason}}</strong>{{/reason}}</td>
        <td>{{workflow}}</td><td>{{nhs}}</td><td>{{files}}</td><td>{{handled}}</td></tr>
        {{/rows}}{{#hasRows}}</tbody></table>{{/hasRows}}
        {{#more}}<form method="post" action="/inbox" class="pager"><input type="hidden" name="csrf" value="{{csrf}}">
        {{#q}}<input type="hidden" name="nhs" value="{{nhs}}"><input type="hidden" name="text" value="{{text}}">\
        <input type="hidden" name="sender" value="{{sender}}">\
        <input type="hidden" name="workflow" value="{{workflow}}">\
        <input type="hidden" name="from" value="{{from}}"><input type="hidden" name="to" value="{{to}}">{{/q}}
        <input type="hidden" name="page" value="{{next}}"><button type="submit">Next 50</button></form>{{/more}}
        """

    static let pack = """
        <p><a href="/inbox">Back to inbox</a></p>
        <h1>{{subject}}</h1>
        {{#reason}}<div class="error-summary" role="alert"><h2>{{outcomeTitle}}</h2><p>{{reason}}</p>\
        </div>{{/reason}}
        <dl class="summary">
        <dt>From</dt><dd>{{senderName}} <span class="ods">{{sender}}</span></dd>
        <dt>Received</dt><dd>{{received}}</dd>
        <dt>Workflow</dt><dd>{{workflow}}</dd>
        <dt>NHS numbers</dt><dd>{{nhs}}</dd>
        <dt>Bundle</dt><dd><code>{{id}}</code></dd>
        <dt>Bundle SHA-256</dt><dd><code>{{bundleSHA256}}</code></dd>
        <dt>Receipt sent</dt><dd>{{receiptSize}} bytes, signed by this organisation</dd>
        </dl>
        {{#hasFiles}}<h2>Files</h2><table class="list"><thead><tr><th scope="col">Name</th><th scope="col">Size</th>\
        <th scope="col">SHA-256</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead><tbody>{{/hasFiles}}
        {{#files}}<tr><td>{{name}}</td><td>{{size}}</td><td><code class="digest">{{sha256}}</code></td>
        <td>{{#previewable}}<a href="/pack/{{id}}/view/{{index}}">Preview<span class="visually-hidden">\
         {{name}}</span></a> {{/previewable}}<a href="/pack/{{id}}/file/{{index}}" download>Download\
        <span class="visually-hidden"> {{name}}</span></a></td></tr>
        {{/files}}{{#hasFiles}}</tbody></table>{{/hasFiles}}
        <h2>Handled</h2>
        {{#handled}}<p>Marked handled by {{user}} at {{at}}.{{#note}} Note: {{note}}{{/note}}</p>{{/handled}}
        {{^reason}}<form method="post" action="/pack/{{id}}/handled" class="narrow">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label for="note">Note (optional)</label><textarea id="note" name="note" rows="3" maxlength="500"></textarea>
        <button type="submit">Mark as handled</button></form>{{/reason}}
        """

    static let send = """
        <h1>Send a pack</h1>
        \(errorSummary)
        <form method="post" action="/send" enctype="multipart/form-data" class="narrow" id="send-form">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label for="to">Send to</label>
        <select id="to" name="to" required>{{#partners}}<option value="{{org}}">{{name}} \
        ({{org}})</option>{{/partners}}</select>
        <label for="subject">Subject</label><input id="subject" name="subject" maxlength="200">
        <label for="nhs">NHS numbers (one or more, separated by commas)</label>\
        <input id="nhs" name="nhs" inputmode="numeric">
        <label for="workflow">Workflow</label>
        <select id="workflow" name="workflow">{{#workflows}}<option value="{{name}}"{{#selected}} \
        selected{{/selected}}>\
        {{name}}</option>{{/workflows}}</select>
        <label for="files">Files</label><input id="files" name="files" type="file" multiple required>
        <p class="hint">Up to {{maxMB}} MiB in all. The files travel together as one pack, encrypted and signed.</p>
        <button type="submit">Send</button>
        <p id="progress-line" role="status" hidden><label for="progress">Uploading</label>
        <progress id="progress" max="100" value="0"></progress> <span id="progress-text"></span></p>
        </form>
        <script src="/static/send.js" defer></script>
        """

    static let sent = """
        <div class="panel" role="status"><h1>Queued for {{partner}}</h1>
        <p>{{count}} in one pack ({{bytes}} bytes). The gateway seals and sends it now.</p></div>
        <p><a href="/outgoing/pack/{{pack}}">Follow it until the receipt arrives</a>\
         · <a href="/send">Send another pack</a></p>
        """

    static let outgoing = """
        <h1>Outgoing</h1>
        <p class="count">{{summary}}</p>
        {{#hasRows}}<table class="list"><thead><tr><th scope="col">Created</th><th scope="col">To</th>\
        <th scope="col">State</th>\
        <th scope="col">Attempts</th><th scope="col">Last error</th><th scope="col">Files</th>\
        <th scope="col">Receipt</th></tr></thead>
        <tbody>{{/hasRows}}{{#rows}}<tr><td><a href="/outgoing/{{id}}">{{created}}</a></td><td>{{partner}}</td>\
        <td><strong class="tag {{tone}}">{{state}}</strong></td>
        <td>{{attempts}}</td><td>{{lastError}}</td><td>{{files}}</td><td>{{receipt}}</td></tr>
        {{/rows}}{{#hasRows}}</tbody></table>{{/hasRows}}
        """

    static let timeline = """
        <p><a href="/outgoing">Back to outgoing</a></p>
        <h1>To {{partner}}: <strong class="tag {{tone}}">{{state}}</strong></h1>
        {{#waiting}}<p role="status">{{waiting}} This page refreshes by itself.</p>{{/waiting}}
        {{#id}}<dl class="summary"><dt>Bundle</dt><dd><code>{{id}}</code></dd><dt>Attempts</dt><dd>{{attempts}}</dd>
        <dt>Last error</dt><dd>{{lastError}}</dd><dt>Receipt</dt><dd>{{receipt}}</dd></dl>{{/id}}
        {{#hasSteps}}<h2>Timeline</h2><ol class="timeline">{{/hasSteps}}{{#steps}}<li><strong>{{state}}</strong> \
        <span class="count">{{at}}</span> {{detail}}</li>{{/steps}}{{#hasSteps}}</ol>{{/hasSteps}}
        """

    static let health = """
        <h1>Health</h1>
        <h2>This organisation</h2>
        <dl class="summary"><dt>Organisation</dt><dd>{{ownName}} <span class="ods">{{own}}</span></dd>
        <dt>Key manifest</dt><dd>version {{ownVersion}}, expires {{ownExpires}}</dd></dl>
        <h2>Warnings</h2>
        {{#hasWarnings}}<ul>{{/hasWarnings}}{{#warnings}}<li class="bad">{{.}}</li>{{/warnings}}\
        {{#hasWarnings}}</ul>{{/hasWarnings}}\
        {{^hasWarnings}}<p class="good">No key or manifest warnings.</p>{{/hasWarnings}}
        <h2>Partners</h2>
        {{#hasPartners}}<table class="list"><thead><tr><th scope="col">Partner</th><th scope="col">Their manifest</th>\
        <th scope="col">Expires</th><th scope="col">Our manifest</th></tr></thead><tbody>{{/hasPartners}}
        {{#partners}}<tr><td>{{name}} <span class="ods">{{org}}</span></td><td>version {{version}}</td>\
        <td class="{{expiryTone}}">{{expires}}</td><td class="{{confirmedTone}}">{{confirmed}}</td></tr>
        {{/partners}}{{#hasPartners}}</tbody></table>{{/hasPartners}}
        <h2>Queue</h2>
        <dl class="summary">{{#queue}}<dt>{{state}}</dt><dd>{{count}}</dd>{{/queue}}</dl>
        <h2>Checks</h2>
        <p>The checks of <code>gatehouse doctor</code>: key files, settings, cards, each mailbox (logged in to as the \
        gateway does), disk space, clock.</p>
        <form method="post" action="/health" class="narrow"><input type="hidden" name="csrf" value="{{csrf}}">
        <button type="submit">Run the checks</button></form>
        {{#hasFindings}}<table class="list"><thead><tr><th scope="col">Check</th><th scope="col">Result</th>\
        <th scope="col">Finding</th><th scope="col">What to do</th></tr></thead><tbody>{{/hasFindings}}
        {{#findings}}<tr><td>{{check}}</td><td class="{{tone}}">{{level}}</td><td>{{message}}</td><td>{{fix}}</td></tr>
        {{/findings}}{{#hasFindings}}</tbody></table>{{/hasFindings}}
        """

    static let preview = """
        <p><a href="/pack/{{id}}">Back to the pack</a> · <a href="/pack/{{id}}/file/{{index}}" download>Download</a></p>
        <h1>{{name}}</h1>
        <iframe src="/pack/{{id}}/preview/{{index}}" sandbox title="Preview of {{name}}" class="preview"></iframe>
        """

    static let audit = """
        <h1>Audit log</h1>
        <form method="get" action="/audit" class="search"><div><label for="user">Account</label>\
        <input id="user" name="user" value="{{user}}"></div><div class="actions"><button type="submit">Show</button>\
        <a href="/audit">All</a></div></form>
        <p class="count">{{summary}}</p>
        {{#hasRows}}<table class="list"><thead><tr><th scope="col">#</th><th scope="col">Time</th>\
        <th scope="col">Event</th>\
        <th scope="col">Bundle</th><th scope="col">Detail</th></tr></thead><tbody>{{/hasRows}}
        {{#rows}}<tr><td>{{seq}}</td><td>{{time}}</td><td>{{event}}</td><td><code>{{bundle}}</code></td>\
        <td>{{detail}}</td></tr>
        {{/rows}}{{#hasRows}}</tbody></table>{{/hasRows}}
        """

    static let problem = """
        <h1>{{heading}}</h1><p>{{message}}</p><p><a href="/">Go to the start page</a></p>
        """
}
