import ArgumentParser
import FailoverController
import Heartbeat
import HotStandbyConfig

/// `hotstandby beat`: the application's own heartbeat, one datagram to `health.beat.socket`.
struct Beat: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Tell the daemon the service is alive (health.beat): send one datagram to the beat socket.",
        discussion: """
            Run it from the service (or its own health loop) at least every health.beat.timeout. The same from
            Python: socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendto(b"beat", "/run/hotstandby/beat.sock")
            """
    )

    @Option(help: "The beat socket (default: health.beat.socket of --config).")
    var socket: String?

    @Option(name: .long, help: "The configuration file (read only when --socket is not given).")
    var config: String = Config.defaultPath

    func run() async throws {
        let path: String
        if let socket {
            path = socket
        } else {
            guard let configured = try Config.load(path: config).health.beatSocket else {
                throw ExitMessage(text: "\(config): health.beat.socket is not set; set it, or pass --socket PATH")
            }
            path = configured
        }
        if let problem = BeatClient.send(to: path) { throw ExitMessage(text: problem) }
    }
}
