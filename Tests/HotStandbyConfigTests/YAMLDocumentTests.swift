import HotStandbyConfig
import HotStandbyCore
import Testing

/// The configuration's YAML reader (libyaml's loader, no Foundation): what the keys see, and what it refuses.
@Suite("YAML through libyaml")
struct YAMLDocumentTests {
    @Test("scalars, lists and nested mappings keep their text and order; nulls are told from empty strings")
    func shapes() throws {
        let root = try #require(
            try YAMLDocument.load(
                """
                cluster: shop
                heartbeat: {interval: 5s, timeout: 60s}
                hooks:
                  promote: [/usr/bin/systemctl, start, "app x"]
                empty: ''
                none: ~
                nothing:
                tagged: !!null whatever
                number: 0012
                """
            )
        )
        #expect(root["cluster"] == .scalar("shop", plain: true, tag: "tag:yaml.org,2002:str"))
        #expect(root["heartbeat"]?["timeout"]?.scalar == "60s")
        #expect(
            root.mapping?.map(\.key) == [
                "cluster", "heartbeat", "hooks", "empty", "none", "nothing", "tagged", "number",
            ]
        )
        #expect(root["hooks"]?["promote"]?.sequence?.compactMap(\.scalar) == ["/usr/bin/systemctl", "start", "app x"])
        #expect(root["empty"]?.isNull == false)
        #expect(root["none"]?.isNull == true)
        #expect(root["nothing"]?.isNull == true)
        #expect(root["tagged"]?.isNull == true)
        // Every value is text for the key that reads it: no number conversion drops the zeros.
        #expect(root["number"]?.scalar == "0012")
        #expect(try YAMLDocument.load("") == nil)
    }

    @Test("anchors and aliases are resolved; an alias inside its own anchor and an alias bomb are refused")
    func aliases() throws {
        let root = try #require(try YAMLDocument.load("base: &b {timeout: 60s}\nother: *b\n"))
        #expect(root["other"]?["timeout"]?.scalar == "60s")

        #expect(throws: YAMLSyntaxError.self) { try YAMLDocument.load("a: &x [1, *x]\n") }
        var bomb = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        for level in 1...6 {
            bomb +=
                "a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ")
                + "]\n"
        }
        do {
            _ = try YAMLDocument.load(bomb)
            Issue.record("a document of 10^7 values was loaded")
        } catch {
            #expect(error.problem.contains("more than 100000 values"))
        }
    }

    @Test("a syntax error says what and where; a second document is refused")
    func errors() throws {
        do {
            _ = try YAMLDocument.load("cluster: shop\nnode: [a, b\n")
            Issue.record("an unclosed list was accepted")
        } catch {
            #expect(error.line == 3, "\(error)")
            #expect("\(error)".contains("line 3"), "\(error)")
        }
        #expect(throws: YAMLSyntaxError.self) { try YAMLDocument.load("cluster: a\n---\ncluster: b\n") }
    }

    @Test("the reader names a repeated key, a bad document and a document that is not a mapping")
    func readerProblems() throws {
        for (text, expected) in [
            ("cluster: a\nnode: b\ncluster: c\n", "cluster: written more than once"),
            ("heartbeat:\n  interval: 5s\n  interval: 6s\n", "heartbeat.interval: written more than once"),
            ("cluster: [a\n", "not valid YAML: "),
            ("- a\n- b\n", "the document must be a mapping"),
        ] {
            do {
                _ = try Config.parse(yaml: text, path: "/etc/hotstandby/hotstandby.yaml")
                Issue.record("accepted: \(text)")
            } catch {
                #expect("\(error)".contains(expected), "\(error)")
            }
        }
    }
}
