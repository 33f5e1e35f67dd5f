import NIOPosix

/// The HTTP server's event loop: one thread. The endpoints answer a few requests a minute from local
/// tools and a scraper; Hummingbird's default, NIO's singleton group, starts one thread per core.
/// Created on first use and never shut down, like the singleton it replaces (it lives as long as the process).
enum HTTPEventLoop {
    static let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
}
