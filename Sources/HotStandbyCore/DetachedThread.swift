#if canImport(Glibc)
    import Glibc
#endif

/// A detached POSIX thread running one closure: for the few blocking loops (file I/O on a share that may hang,
/// the beat socket, the log writer) that must not hold a thread of Swift's cooperative pool. Foundation's
/// `Thread` does the same but needs the whole of Foundation on Linux.
public enum DetachedThread {
    /// Starts `body` on a new thread named `name` (at most 15 bytes are shown by `ps -L`/`top -H`).
    /// A failure to create a thread (the process is at its thread limit) is fatal: nothing could run.
    public static func start(name: String, _ body: @escaping @Sendable () -> Void) {
        let box = Unmanaged.passRetained(ThreadBody(name: name, run: body)).toOpaque()
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        defer { pthread_attr_destroy(&attributes) }
        var thread = pthread_t()
        let result = pthread_create(&thread, &attributes, threadEntry, box)
        precondition(result == 0, "pthread_create failed with error \(result) for thread \(name)")
    }
}

private final class ThreadBody {
    let name: String
    let run: @Sendable () -> Void

    init(name: String, run: @escaping @Sendable () -> Void) {
        self.name = name
        self.run = run
    }
}

private func threadEntry(_ raw: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    guard let raw else { return nil }
    let body = Unmanaged<ThreadBody>.fromOpaque(raw).takeRetainedValue()
    nameThisThread(body.name)
    body.run()
    return nil
}

/// The name `ps -L` and `top -H` show: written to the thread's own `comm` (what `pthread_setname_np` does;
/// Glibc's Swift module does not export it).
private func nameThisThread(_ name: String) {
    let descriptor = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
    guard descriptor >= 0 else { return }
    let bytes = Array(name.utf8.prefix(15))
    _ = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
    close(descriptor)
}
