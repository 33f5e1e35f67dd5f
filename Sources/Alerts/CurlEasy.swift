import CCurl
import FoundationEssentials

/// One transfer for libcurl to run: an SMTP submission or an HTTP POST.
struct CurlRequest: Sendable {
    /// `smtp://`, `smtps://`, `http://` or `https://`.
    var url: String
    /// The whole transfer's deadline (`CURLOPT_TIMEOUT_MS`).
    var timeout: Duration
    /// The connect phase's deadline (`CURLOPT_CONNECTTIMEOUT_MS`), at most `timeout`.
    var connectTimeout: Duration
    /// `CURLOPT_USE_SSL`: `CURLUSESSL_NONE`, `_TRY` or `_ALL` (SMTP only).
    var useSSL: Int?
    /// A CA bundle to verify the server's certificate with, instead of the system's.
    var caFile: String?
    /// The login name; the password goes with it.
    var user: String?
    /// Never logged, never in an error.
    var password: String?
    /// SMTP envelope sender (`MAIL FROM`).
    var mailFrom: String?
    /// SMTP envelope recipients (`RCPT TO`).
    var mailRecipients: [String] = []
    /// The bytes to upload (the SMTP message) or to POST (the HTTP body).
    var body: [UInt8] = []
    /// HTTP headers, e.g. `Content-Type: application/json`; non-empty makes the transfer a POST.
    var httpHeaders: [String] = []
    /// When set, the transfer is abandoned after this long without a byte in either direction
    /// (`CURLOPT_LOW_SPEED_LIMIT` 1 byte/s for `CURLOPT_LOW_SPEED_TIME`, whole seconds, at least 1);
    /// `timeout` then only caps a transfer that keeps trickling.
    var stallTimeout: Duration? = nil
}

/// What libcurl said about a transfer.
struct CurlOutcome: Sendable {
    /// `CURLcode` as an integer; 0 is success.
    var code: Int
    /// `curl_easy_strerror` of the code.
    var codeText: String
    /// The detailed message from `CURLOPT_ERRORBUFFER` (may be empty).
    var detail: String
    /// The last SMTP reply code or the HTTP status (`CURLINFO_RESPONSE_CODE`).
    var responseCode: Int
    /// The first 4 KiB of the HTTP response body.
    var responseBody: String
}

// curl_global_init is not thread-safe: a global `let` runs it exactly once, guarded by swift_once.
private let curlGlobalInit: Int = Int(hs_curl_global_init().rawValue)

/// Owns one libcurl easy handle: the only code in the package that calls libcurl.
///
/// Not `Sendable`: `CurlTransport` creates, uses and drops it on one thread.
final class CurlEasy {
    private let handle: UnsafeMutableRawPointer
    private let errorBuffer: UnsafeMutablePointer<CChar>
    private var lists: [UnsafeMutablePointer<curl_slist>] = []

    /// Creates a handle; nil when libcurl cannot (out of memory).
    init?() {
        _ = curlGlobalInit
        guard let handle = curl_easy_init() else { return nil }
        self.handle = handle
        errorBuffer = .allocate(capacity: Int(hs_curl_error_size))
        errorBuffer.initialize(repeating: 0, count: Int(hs_curl_error_size))
    }

    deinit {
        curl_easy_cleanup(handle)
        for list in lists { curl_slist_free_all(list) }
        errorBuffer.deallocate()
    }

    /// Runs the transfer on the calling thread; blocks for at most `request.timeout`.
    func perform(_ request: CurlRequest) -> CurlOutcome {
        let upload = ByteSource(request.body)
        let download = ByteSink(limit: 4096)
        let uploadPointer = Unmanaged.passUnretained(upload).toOpaque()
        let downloadPointer = Unmanaged.passUnretained(download).toOpaque()
        let setup = withExtendedLifetime((upload, download)) { () -> CURLcode in
            configure(request, upload: uploadPointer, download: downloadPointer)
        }
        if setup != CURLE_OK { return outcome(setup, sink: download) }
        let code = withExtendedLifetime((upload, download)) { curl_easy_perform(handle) }
        return outcome(code, sink: download)
    }

    private func configure(
        _ request: CurlRequest,
        upload: UnsafeMutableRawPointer,
        download: UnsafeMutableRawPointer
    ) -> CURLcode {
        var results: [CURLcode] = [
            hs_curl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errorBuffer),
            hs_curl_setopt_string(handle, CURLOPT_URL, request.url),
            hs_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1),
            hs_curl_setopt_long(handle, CURLOPT_TIMEOUT_MS, Self.milliseconds(request.timeout)),
            hs_curl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, Self.milliseconds(request.connectTimeout)),
            hs_curl_setopt_callback(handle, CURLOPT_WRITEFUNCTION, sinkCallback),
            hs_curl_setopt_pointer(handle, CURLOPT_WRITEDATA, download),
        ]
        if let stall = request.stallTimeout {
            let seconds = max(1, Int(stall.components.seconds) + (stall.components.attoseconds > 0 ? 1 : 0))
            results.append(hs_curl_setopt_long(handle, CURLOPT_LOW_SPEED_LIMIT, 1))
            results.append(hs_curl_setopt_long(handle, CURLOPT_LOW_SPEED_TIME, seconds))
        }
        if let useSSL = request.useSSL { results.append(hs_curl_setopt_long(handle, CURLOPT_USE_SSL, useSSL)) }
        if let caFile = request.caFile { results.append(hs_curl_setopt_string(handle, CURLOPT_CAINFO, caFile)) }
        if let user = request.user { results.append(hs_curl_setopt_string(handle, CURLOPT_USERNAME, user)) }
        if let password = request.password {
            results.append(hs_curl_setopt_string(handle, CURLOPT_PASSWORD, password))
        }
        if let mailFrom = request.mailFrom {
            results.append(hs_curl_setopt_string(handle, CURLOPT_MAIL_FROM, "<\(mailFrom)>"))
            if let list = makeList(request.mailRecipients.map { "<\($0)>" }) {
                results.append(hs_curl_setopt_slist(handle, CURLOPT_MAIL_RCPT, list))
            }
            results.append(hs_curl_setopt_long(handle, CURLOPT_UPLOAD, 1))
            results.append(hs_curl_setopt_callback(handle, CURLOPT_READFUNCTION, sourceCallback))
            results.append(hs_curl_setopt_pointer(handle, CURLOPT_READDATA, upload))
            results.append(hs_curl_setopt_long(handle, CURLOPT_INFILESIZE, request.body.count))
        } else if !request.httpHeaders.isEmpty {
            if let list = makeList(request.httpHeaders) {
                results.append(hs_curl_setopt_slist(handle, CURLOPT_HTTPHEADER, list))
            }
            results.append(hs_curl_setopt_long(handle, CURLOPT_POST, 1))
            results.append(hs_curl_setopt_long(handle, CURLOPT_POSTFIELDSIZE, request.body.count))
            results.append(hs_curl_setopt_callback(handle, CURLOPT_READFUNCTION, sourceCallback))
            results.append(hs_curl_setopt_pointer(handle, CURLOPT_READDATA, upload))
        }
        return results.first { $0 != CURLE_OK } ?? CURLE_OK
    }

    private func makeList(_ items: [String]) -> UnsafeMutablePointer<curl_slist>? {
        var list: UnsafeMutablePointer<curl_slist>? = nil
        for item in items {
            guard let next = curl_slist_append(list, item) else { break }
            list = next
        }
        if let list { lists.append(list) }
        return list
    }

    private func outcome(_ code: CURLcode, sink: ByteSink) -> CurlOutcome {
        var response = 0
        _ = hs_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &response)
        return CurlOutcome(
            code: Int(code.rawValue),
            codeText: String(cString: curl_easy_strerror(code)),
            detail: String(cString: errorBuffer),
            responseCode: response,
            responseBody: String(decoding: sink.bytes, as: UTF8.self)
        )
    }

    private static func milliseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        return max(1, Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000))
    }
}

/// The bytes libcurl reads through `CURLOPT_READFUNCTION`.
private final class ByteSource {
    let bytes: [UInt8]
    var offset = 0
    init(_ bytes: [UInt8]) { self.bytes = bytes }
}

/// Collects what libcurl writes through `CURLOPT_WRITEFUNCTION`, up to a limit; the rest is dropped.
private final class ByteSink {
    var bytes: [UInt8] = []
    let limit: Int
    init(limit: Int) { self.limit = limit }
}

private let sourceCallback: hs_curl_io_callback = { buffer, size, count, userdata in
    guard let buffer, let userdata else { return 0 }
    let source = Unmanaged<ByteSource>.fromOpaque(userdata).takeUnretainedValue()
    let length = min(size * count, source.bytes.count - source.offset)
    if length > 0 {
        source.bytes.withUnsafeBytes { raw in
            UnsafeMutableRawPointer(buffer).copyMemory(from: raw.baseAddress! + source.offset, byteCount: length)
        }
        source.offset += length
    }
    return length
}

private let sinkCallback: hs_curl_io_callback = { buffer, size, count, userdata in
    let length = size * count
    guard let buffer, let userdata else { return length }
    let sink = Unmanaged<ByteSink>.fromOpaque(userdata).takeUnretainedValue()
    let keep = min(length, sink.limit - sink.bytes.count)
    if keep > 0 {
        sink.bytes.append(contentsOf: UnsafeRawBufferPointer(start: buffer, count: keep))
    }
    return length
}
