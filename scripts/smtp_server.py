"""A real SMTP server for hotstandby's tests (aiosmtpd), storing each message in DIR/mail/.

Started by scripts/smtp-server; not for production. Each message is one file: two envelope lines
(X-Envelope-From, X-Envelope-To) followed by the message exactly as received. While the file DIR/refuse
exists, MAIL FROM is answered with 451 (a temporary refusal), so tests can make the server refuse.
While the file DIR/slow holds two numbers "G D", each new connection waits G seconds before its greeting
and each message is stored D seconds before the 250 reply to its DATA (a slow or just-resumed server).
"""

import argparse
import asyncio
import os
import ssl
import time

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


def delays(directory):
    """(greeting, data) delays in seconds from DIR/slow, or (0, 0)."""
    try:
        with open(os.path.join(directory, "slow")) as f:
            greeting, data = (float(word) for word in f.read().split()[:2])
        return greeting, data
    except (OSError, ValueError):
        return 0.0, 0.0


class SlowSMTP(SMTP):
    """SMTP whose greeting waits while DIR/slow says so."""

    def __init__(self, handler, directory, **options):
        super().__init__(handler, **options)
        self.directory = directory

    async def _handle_client(self):
        greeting, _ = delays(self.directory)
        if greeting > 0:
            await asyncio.sleep(greeting)
        await super()._handle_client()


class Store:
    def __init__(self, directory):
        self.directory = directory
        self.count = 0

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if os.path.exists(os.path.join(self.directory, "refuse")):
            return "451 4.3.0 Temporarily refusing mail (test switch DIR/refuse)"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        name = "%d-%06d.eml" % (time.time_ns(), self.count)
        mail = os.path.join(self.directory, "mail")
        temporary = os.path.join(mail, "." + name)
        with open(temporary, "wb") as f:
            f.write(b"X-Envelope-From: " + envelope.mail_from.encode() + b"\r\n")
            f.write(b"X-Envelope-To: " + ", ".join(envelope.rcpt_tos).encode() + b"\r\n")
            f.write(envelope.original_content)
            f.flush()
            os.fsync(f.fileno())
        os.rename(temporary, os.path.join(mail, name))
        _, delay = delays(self.directory)
        if delay > 0:
            await asyncio.sleep(delay)
        return "250 2.0.0 Stored"


class Authenticator:
    def __init__(self, user, password):
        self.user = user.encode()
        self.password = password.encode()

    def __call__(self, server, session, envelope, mechanism, auth_data):
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        ok = auth_data.login == self.user and auth_data.password == self.password
        return AuthResult(success=ok, handled=False)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--tls-auth", action="store_true")
    parser.add_argument("--user")
    parser.add_argument("--password-file")
    parser.add_argument("--cert")
    parser.add_argument("--key")
    args = parser.parse_args()

    handler = Store(args.dir)
    options = {"hostname": "hotstandby-test-smtp"}
    if args.tls_auth:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.cert, args.key)
        with open(args.password_file) as f:
            password = f.readline().strip()
        options.update(
            tls_context=context,
            require_starttls=True,
            authenticator=Authenticator(args.user, password),
            auth_required=True,
            auth_require_tls=True,
        )

    # SMTP_LISTEN: the namespace lab runs the server inside its `db` namespace on 10.77.0.10.
    listen = os.environ.get("SMTP_LISTEN", "127.0.0.1")
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    server = loop.run_until_complete(
        loop.create_server(lambda: SlowSMTP(handler, args.dir, loop=loop, **options), host=listen, port=0)
    )
    port = server.sockets[0].getsockname()[1]
    temporary = os.path.join(args.dir, ".port")
    with open(temporary, "w") as f:
        f.write("%d\n" % port)
    os.rename(temporary, os.path.join(args.dir, "port"))
    print("listening on %s:%d" % (listen, port), flush=True)
    loop.run_forever()


if __name__ == "__main__":
    main()
