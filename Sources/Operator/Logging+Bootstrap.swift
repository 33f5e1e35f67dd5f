import Logging

/// Creates the process's one logger, writing to standard error (journald takes it from there) through
/// a bounded buffer and a writer thread, so a stalled reader never blocks the heartbeat (`LogSink`).
public func makeLogger(label: String, level: Logger.Level, node: String) -> Logger {
    let sink = LogSink.standardError
    LoggingSystem.bootstrap { label in
        var handler = NonBlockingLogHandler(label: label, sink: sink)
        handler.logLevel = level
        return handler
    }
    var logger = Logger(label: label)
    logger.logLevel = level
    logger[metadataKey: "node"] = "\(node)"
    return logger
}
