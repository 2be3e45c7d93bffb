# syntax=docker/dockerfile:1
# The local imitation of Microsoft 365 for `docker compose --profile sandbox up`: identity platform
# (HTTPS, test CA), Dovecot with OAuth2 as IMAP, an SMTP server that answers like Exchange Online, a
# webhook receiver and its own Redis. A development tool, never a production image: it needs the
# devDependencies (tsx, smtp-server…), and it runs as root because Dovecot starts as root and then
# drops to its own users.
FROM node:24.17.0-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends dovecot-imapd redis-server openssl \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund && npm cache clean --force
COPY tsconfig.json ./
COPY sandbox ./sandbox
COPY scripts/sandbox-container.ts ./scripts/
ENV SANDBOX_DIR=/sandbox
VOLUME /sandbox
# Ready once it wrote the environment that points mailsync at it.
HEALTHCHECK --interval=5s --timeout=3s --start-period=30s --retries=3 CMD test -s /sandbox/service.env
# node itself (not npx) is PID 1's child under `init: true`, so SIGTERM reaches the handler that stops the sandbox.
CMD ["node", "--import", "tsx", "scripts/sandbox-container.ts"]
