// Build-time tool used by the EmbedFiles plugin.
//
// Usage: FileEmbedder OUTPUT.swift --target NAME [--files FILE...] [--statements FILE.sql...]
//
// `--files` become `embeddedFiles: [(name: String, content: String)]`.
// `--statements` are named-query files: `SQL/JobQueries.sql` becomes `enum JobQueries`,
// each block that starts with `-- name: claim` a `static let claim` holding its SQL, and
// the target gets `package enum <NAME>SQL { package static let statements }`, the
// catalogue the statement tests PREPARE and EXPLAIN. The lines after `-- name:` that start
// with `--` are the statement's documentation; one of them may be `-- index: a, b` (the
// indexes that serve it, checked by EXPLAIN in the tests) or `-- index: none …`.
import Foundation

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("FileEmbedder: \(message)\n".utf8))
    exit(1)
}

/// Escapes text as the body of a Swift string literal.
func swiftLiteral(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\\": out += "\\\\"
        case "\"": out += "\\\""
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if scalar.value < 0x20 || scalar.value == 0x7F {
                out += "\\u{\(String(scalar.value, radix: 16))}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }
    return out + "\""
}

func read(_ path: String) -> String {
    guard let data = FileManager.default.contents(atPath: path),
          let text = String(data: data, encoding: .utf8) else {
        fail("cannot read \(path) as UTF-8")
    }
    return text
}

func isIdentifier(_ text: Substring) -> Bool {
    guard let first = text.first, first.isLetter || first == "_" else { return false }
    return text.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" }
}

/// One `-- name:` block of a statements file.
struct Statement {
    var name: String
    var line: Int
    var documentation: [String] = []
    var indexes: [String] = []
    var indexNote: String?
    var body: [String] = []
}

/// Parses a named-query file into its file documentation and its statements.
func parseStatements(path: String) -> (documentation: [String], statements: [Statement]) {
    var documentation: [String] = []
    var statements: [Statement] = []
    var inHeader = false
    for (offset, rawLine) in read(path).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
        let line = rawLine.hasSuffix("\r") ? String(rawLine.dropLast()) : String(rawLine)
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        let where_ = "\(path):\(offset + 1)"
        if trimmed.hasPrefix("-- name:") {
            let name = trimmed.dropFirst("-- name:".count).trimmingCharacters(in: .whitespaces)
            guard isIdentifier(Substring(name)) else { fail("\(where_): `\(name)` is not a Swift identifier") }
            if statements.contains(where: { $0.name == name }) { fail("\(where_): statement `\(name)` is named twice") }
            statements.append(Statement(name: name, line: offset + 1))
            inHeader = true
            continue
        }
        guard !statements.isEmpty else {
            if trimmed.hasPrefix("--") {
                documentation.append(String(trimmed.dropFirst(2).drop(while: { $0 == " " })))
            }
            continue
        }
        if inHeader && trimmed.hasPrefix("--") {
            let text = String(trimmed.dropFirst(2).drop(while: { $0 == " " }))
            if text.hasPrefix("index:") {
                let note = text.dropFirst("index:".count).trimmingCharacters(in: .whitespaces)
                statements[statements.count - 1].indexNote = note
                if !note.hasPrefix("none") {
                    let names = note.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                    for name in names where !isIdentifier(Substring(name)) {
                        fail("\(where_): index `\(name)` is not an index name (write `-- index: a, b` or `-- index: none …`)")
                    }
                    statements[statements.count - 1].indexes = names
                }
            }
            statements[statements.count - 1].documentation.append(text)
            continue
        }
        inHeader = false
        statements[statements.count - 1].body.append(line)
    }
    for index in statements.indices {
        var body = statements[index].body
        while let last = body.last, last.trimmingCharacters(in: .whitespaces).isEmpty { body.removeLast() }
        while let first = body.first, first.trimmingCharacters(in: .whitespaces).isEmpty { body.removeFirst() }
        if var last = body.popLast() {
            while last.hasSuffix(";") || last.hasSuffix(" ") { last.removeLast() }
            body.append(last)
        }
        guard !body.isEmpty else { fail("\(path):\(statements[index].line): statement `\(statements[index].name)` has no SQL") }
        guard statements[index].indexNote != nil else {
            fail("\(path):\(statements[index].line): statement `\(statements[index].name)` has no `-- index:` line")
        }
        statements[index].body = body
    }
    return (documentation, statements)
}

var arguments = Array(CommandLine.arguments.dropFirst())
guard arguments.count >= 3, arguments[1] == "--target" else {
    fail("usage: FileEmbedder OUTPUT --target NAME [--files FILE...] [--statements FILE.sql...]")
}
let outputPath = arguments[0]
let targetName = arguments[2]
var files: [String] = []
var statementFiles: [String] = []
var mode = ""
for argument in arguments.dropFirst(3) {
    if argument == "--files" || argument == "--statements" { mode = argument; continue }
    switch mode {
    case "--files": files.append(argument)
    case "--statements": statementFiles.append(argument)
    default: fail("unexpected argument \(argument)")
    }
}

var source = "// Generated by FileEmbedder (EmbedFiles plugin) from the package's files. Do not edit.\n"
if !statementFiles.isEmpty { source += "import PostgresClient\n" }
if !files.isEmpty {
    source += "\nlet embeddedFiles: [(name: String, content: String)] = [\n"
    for path in files {
        let name = URL(fileURLWithPath: path).lastPathComponent
        source += "    (name: \(swiftLiteral(name)), content: \(swiftLiteral(read(path)))),\n"
    }
    source += "]\n"
}
if !statementFiles.isEmpty {
    var catalogue: [String] = []
    for path in statementFiles {
        let fileName = URL(fileURLWithPath: path).lastPathComponent
        let enumName = String(fileName.dropLast(".sql".count))
        guard isIdentifier(Substring(enumName)) else { fail("\(path): the file name must be a Swift identifier") }
        let parsed = parseStatements(path: path)
        source += "\n"
        for line in parsed.documentation { source += "/// \(line)\n" }
        source += "///\n/// Generated from `SQL/\(fileName)`: edit the SQL there.\n"
        source += "enum \(enumName) {\n"
        for statement in parsed.statements {
            for line in statement.documentation { source += "    /// \(line)\n" }
            source += "    static let \(statement.name) = \(swiftLiteral(statement.body.joined(separator: "\n")))\n"
            let indexes = "[" + statement.indexes.map(swiftLiteral).joined(separator: ", ") + "]"
            catalogue.append(
                "SQLStatement(file: \(swiftLiteral(fileName)), line: \(statement.line), name: \(swiftLiteral(statement.name)), "
                    + "indexes: \(indexes), text: \(enumName).\(statement.name))"
            )
        }
        source += "}\n"
    }
    source += "\n/// Every named statement of this target's `SQL/` folder, for the tests that check them.\n"
    source += "package enum \(targetName)SQL {\n    package static let statements: [SQLStatement] = [\n"
    for entry in catalogue { source += "        \(entry),\n" }
    source += "    ]\n}\n"
}
do {
    try source.write(toFile: outputPath, atomically: true, encoding: .utf8)
} catch {
    fail("cannot write \(outputPath): \(error)")
}
