import FoundationEssentials
import Glibc

/// Reads the SMTP password from a file that only its owner may read.
enum PasswordFile {
    /// The password: the file's first line. Refuses a file others can read, without quoting the contents.
    static func read(_ path: String) throws -> String {
        let key = "alerts.email.passwordFile"
        var status = stat()
        guard stat(path, &status) == 0 else {
            throw AlertsError(code: .passwordFile, message: "\(key): '\(path)' does not exist or cannot be read")
        }
        let mode = Int(status.st_mode & 0o7777)
        if mode & 0o077 != 0 {
            throw AlertsError(
                code: .passwordFile,
                message: "\(key): '\(path)' can be read by other users (mode \(String(mode, radix: 8))); "
                    + "run `chmod 600 \(path)`"
            )
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw AlertsError(code: .passwordFile, message: "\(key): '\(path)' cannot be read by this user")
        }
        let password = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline).first.map(String.init)
        guard let password, !password.isEmpty else {
            throw AlertsError(
                code: .passwordFile,
                message: "\(key): '\(path)' is empty; write the password on its first line"
            )
        }
        return password
    }
}
