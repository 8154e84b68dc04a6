import Mustache

/// HTML escaping by Unicode scalar. swift-mustache's own escaping walks `Character`s, and a quote
/// followed by a combining mark is one `Character` it does not recognise: a subject such as
/// `x"\u{301} autofocus onfocus=…` would close an attribute. Registered as `SAFEHTML`.
struct SafeHTML: MustacheContentType {
    func escapeText(_ text: String) -> String { Self.escape(text) }

    static func escape(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out.append(contentsOf: "&amp;".unicodeScalars)
            case "<": out.append(contentsOf: "&lt;".unicodeScalars)
            case ">": out.append(contentsOf: "&gt;".unicodeScalars)
            case "\"": out.append(contentsOf: "&quot;".unicodeScalars)
            case "'": out.append(contentsOf: "&#39;".unicodeScalars)
            case "`": out.append(contentsOf: "&#96;".unicodeScalars)
            case "=": out.append(contentsOf: "&#61;".unicodeScalars)
            default: out.append(scalar)
            }
        }
        return String(out)
    }
}

/// Renders pages: the page's template with its values, then the layout around it.
struct PageRenderer: Sendable {
    let library: MustacheLibrary

    init() {
        MustacheContentTypes.register(SafeHTML(), named: "SAFEHTML")
        var library = MustacheLibrary()
        for (name, text) in PageTemplates.all {
            // A template that does not parse is a programming error caught by every test.
            try! library.register(PageTemplates.pragma + text, named: name)
        }
        self.library = library
    }

    /// The complete HTML of page `name` with `values`, titled `title`, inside the layout with the
    /// signed-in user's navigation (`chrome`).
    func page(_ name: String, title: String, values: [String: Any], chrome: [String: Any]) -> String {
        let body = library.render(values, withTemplate: name) ?? ""
        var layout = chrome
        layout["title"] = title
        layout["body"] = body
        return library.render(layout, withTemplate: "layout") ?? ""
    }
}
