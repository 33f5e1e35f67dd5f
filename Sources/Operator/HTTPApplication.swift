import Hummingbird
import Logging
import NIOHTTP1
import ServiceLifecycle

/// The HTTP server as a `Service`: Hummingbird's `Application.run` without its `DateCache`.
///
/// `Application.run` adds a service that reformats the `Date` header every second, requests or not, and Hummingbird
/// 2.x has no setting to leave it out: on an idle node that timer was most of the process's wake-ups (issue 16,
/// docs/performance.md "Idle CPU"). This runs the same server from the same parts, all public API
/// (`HTTPServerBuilder.buildServer`, the application's responder, configuration and event loop group), and answers
/// exactly as `Application.run` does (request id in the logger's metadata, 500 for an error the router did not turn
/// into a response, `Server` and `Date` headers) except that the `Date` header comes from `HTTPDate`, formatted
/// on demand.
public struct HTTPApplication<Responder: HTTPResponder>: Service
where Responder.Context: InitializableFromSource<ApplicationRequestContextSource> {
    /// The application whose parts are run; its own `run()` is never called.
    public let application: Application<Responder>
    /// The `Date` header's cache, one per server.
    public let date = HTTPDate()

    /// Wraps `application`.
    public init(_ application: Application<Responder>) {
        self.application = application
    }

    public func run() async throws {
        let responder = application.responder
        let logger = application.logger
        let serverName = application.configuration.serverName
        let date = self.date
        let configuration = application.configuration
        let server = try application.server.buildServer(
            configuration: .init(
                address: configuration.address,
                serverName: configuration.serverName,
                backlog: configuration.backlog,
                reuseAddress: configuration.reuseAddress,
                availableConnectionsDelegate: configuration.availableConnectionsDelegate
            ),
            eventLoopGroup: application.eventLoopGroup,
            logger: logger
        ) { request, responseWriter, channel in
            var requestLogger = logger
            requestLogger[metadataKey: "hb.request.id"] = .stringConvertible(RequestID())
            let response = try await withLogger(requestLogger) { logger in
                let context = Responder.Context(source: .init(channel: channel, logger: logger))
                var response: Response
                do {
                    response = try await responder.respond(to: request, context: context)
                } catch let error as HTTPParserError {
                    throw error
                } catch {
                    logger.debug("Unrecognised Error", metadata: ["error.type": "\(error)"])
                    response = Response(status: .internalServerError, body: .init())
                }
                response.headers[.date] = date.header
                if let serverName { response.headers[.server] = serverName }
                return response
            }
            do {
                try await responseWriter.write(response: response.head, body: response.body)
            } catch is HTTPParserError {
                // Not rethrown: the connection handler would answer a parse error with a second response (400).
                // Any other error closes the connection, as Hummingbird's own (package-internal) error does.
                throw WriteFailed()
            }
        }
        try await server.run()
    }

    /// Writing the response failed on a parse error of the request.
    struct WriteFailed: Error {}
}
