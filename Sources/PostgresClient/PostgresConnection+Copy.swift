import CLibPQ

extension PostgresConnection {
    /// Bulk-loads rows with `COPY … FROM STDIN` (text format).
    ///
    /// - Parameters:
    ///   - sql: the COPY statement, e.g. `COPY jobs (queue, kind, payload) FROM STDIN`.
    ///   - rows: one array per row, in the statement's column order; `nil` is NULL.
    /// - Returns: the number of rows the server loaded.
    @discardableResult
    public func copyFrom(_ sql: String, rows: [[String?]]) throws -> Int {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(1 << 16)
        return try copyFrom(sql) { send in
            for row in rows {
                PostgresCopyText.append(row: row, to: &buffer)
                if buffer.count >= 1 << 16 {
                    try send(buffer)
                    buffer.removeAll(keepingCapacity: true)
                }
            }
            if !buffer.isEmpty { try send(buffer) }
        }
    }

    /// Bulk-loads pre-encoded COPY data: `produce` calls `send` with chunks of bytes.
    @discardableResult
    public func copyFrom(_ sql: String, produce: (_ send: ([UInt8]) throws -> Void) throws -> Void) throws -> Int {
        guard let pointer = handle?.pointer, PQstatus(pointer) == CONNECTION_OK else {
            try executeScript("SELECT 1") // reconnects or throws a clear error
            return try copyFrom(sql, produce: produce)
        }
        let start = PQexec(pointer, sql)
        let status = PQresultStatus(start)
        guard status == PGRES_COPY_IN else {
            defer { PQclear(start) }
            throw PostgresError.from(result: start, connection: pointer)
        }
        PQclear(start)
        var failure: (any Error)?
        do {
            try produce { chunk in
                let sent = chunk.withUnsafeBufferPointer { bytes in
                    bytes.withMemoryRebound(to: CChar.self) { PQputCopyData(pointer, $0.baseAddress, Int32($0.count)) }
                }
                if sent != 1 {
                    throw PostgresError(code: .connectionLost, message: "COPY failed while sending data: \(String(cString: PQerrorMessage(pointer)))")
                }
            }
        } catch {
            failure = error
        }
        if failure != nil {
            _ = PQputCopyEnd(pointer, "aborted by client")
        } else {
            _ = PQputCopyEnd(pointer, nil)
        }
        var loaded = 0
        var serverError: PostgresError?
        while let result = PQgetResult(pointer) {
            if PQresultStatus(result) == PGRES_COMMAND_OK {
                loaded = PQcmdTuples(result).flatMap { Int(String(cString: $0)) } ?? 0
            } else if serverError == nil {
                serverError = PostgresError.from(result: result, connection: pointer)
            }
            PQclear(result)
        }
        if let failure { throw failure }
        if let serverError { throw serverError }
        return loaded
    }
}

/// Encoding of rows in COPY's text format.
public enum PostgresCopyText {
    /// Appends one row: tab-separated, newline-terminated, `\N` for NULL, with
    /// backslash, tab, newline and carriage return escaped.
    public static func append(row: [String?], to buffer: inout [UInt8]) {
        for (index, value) in row.enumerated() {
            if index > 0 { buffer.append(UInt8(ascii: "\t")) }
            guard let value else {
                buffer.append(UInt8(ascii: "\\"))
                buffer.append(UInt8(ascii: "N"))
                continue
            }
            for byte in value.utf8 {
                switch byte {
                case UInt8(ascii: "\\"): buffer.append(contentsOf: [92, 92])
                case UInt8(ascii: "\t"): buffer.append(contentsOf: [92, UInt8(ascii: "t")])
                case UInt8(ascii: "\n"): buffer.append(contentsOf: [92, UInt8(ascii: "n")])
                case UInt8(ascii: "\r"): buffer.append(contentsOf: [92, UInt8(ascii: "r")])
                default: buffer.append(byte)
                }
            }
        }
        buffer.append(UInt8(ascii: "\n"))
    }
}
