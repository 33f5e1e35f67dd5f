extension CurlOutcome {
    /// The failure in an operator's words, or nil on success. `service` is e.g. "SMTP server smtp://host:25".
    func error(service: String, timeout: Duration, timeoutKey: String, caKey: String, user: String?) -> AlertsError? {
        if code == 0 { return nil }
        let curl = "curl error \(code): \(detail.isEmpty ? codeText : detail)"
        let reply = responseCode > 0 ? responseCode : nil
        func make(_ kind: AlertsError.Code, _ words: String) -> AlertsError {
            AlertsError(code: kind, message: "\(service): \(words) (\(curl))", curlCode: code, responseCode: reply)
        }
        switch code {
        case 6:
            return make(.connectionFailed, "the host name does not resolve; check the URL")
        case 7:
            return make(
                .connectionFailed,
                "connection refused or host unreachable; is the server running and the URL right?"
            )
        case 28:
            return make(
                .timedOut,
                "no answer within \(timeout) (\(timeoutKey)); is the server overloaded or a firewall dropping packets?"
            )
        case 67:
            return make(
                .authenticationFailed,
                "authentication failed: the server refused the login of user '\(user ?? "")' "
                    + "(wrong password or user name; check alerts.email.passwordFile and alerts.email.user)"
            )
        case 64:
            return make(
                .tls,
                "TLS failure: the server does not offer STARTTLS and alerts.email.startTLS is 'required'; "
                    + "enable TLS on the server, or use 'off' only for a relay on this host"
            )
        case 60, 83:
            return make(
                .tls,
                "TLS failure: the server's certificate is not trusted; set \(caKey) to the CA that signed it"
            )
        case 77:
            return make(.tls, "TLS failure: the CA file \(caKey) cannot be read or is not PEM")
        case 35, 58, 59, 90, 91:
            return make(.tls, "TLS failure: the TLS handshake failed")
        case 55 where detail.contains("RCPT"):
            return make(
                .recipientRefused,
                "the server refused a recipient (reply \(responseCode)); check alerts.email.to"
            )
        case 55 where detail.contains("MAIL"):
            return make(
                .messageRefused,
                "the server refused the sender (reply \(responseCode)); check alerts.email.from"
            )
        case 55:
            return make(.messageRefused, "the server refused the message (reply \(responseCode))")
        case 8 where responseCode >= 400:
            return make(.messageRefused, "the server refused the message (reply \(responseCode))")
        case 56, 52:
            return make(.connectionFailed, "the server closed the connection")
        default:
            return make(.transferFailed, "the transfer failed")
        }
    }
}
