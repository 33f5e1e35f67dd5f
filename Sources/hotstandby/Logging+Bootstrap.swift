import Logging

/// Creates the process's one logger, writing to standard error (journald takes it from there).
func makeLogger(label: String, level: Logger.Level, node: String) -> Logger {
    LoggingSystem.bootstrap { label in
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = level
        return handler
    }
    var logger = Logger(label: label)
    logger.logLevel = level
    logger[metadataKey: "node"] = "\(node)"
    return logger
}
