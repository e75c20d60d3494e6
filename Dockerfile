# syntax=docker/dockerfile:1
# The MCPStore REST API (`mcpstore run api`, port 18200) in a container, as in the deployment guide:
# a non-root user, a health check on /health, the config file in /app/config.
#
#   docker build -t mcpstore .
#   docker run -p 18200:18200 -e MCPSTORE_ADMIN_TOKEN=... -v "$PWD/config:/app/config" mcpstore

# Build stage: the whole workspace, then only the CLI and its production dependencies in /app.
FROM node:20-bookworm-slim AS build
WORKDIR /src
ENV CI=true TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1
RUN npm install -g pnpm@10.34.9
COPY . .
RUN pnpm install --frozen-lockfile \
    && pnpm turbo run build --filter=@mcpstore/cli... \
    && pnpm --filter @mcpstore/cli deploy --prod --legacy /app

FROM node:20-bookworm-slim

# System dependencies: curl for the health check; tini, a minimal init for PID 1 (see the ENTRYPOINT).
RUN apt-get update && apt-get install -y --no-install-recommends curl tini \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY --from=build /app /app

# A non-root user with uid 1000 (the image's `node` user, renamed), so that a bind-mounted ./config owned by the
# usual first user of a Linux host is writable. The application files stay owned by root: read-only to the API.
RUN groupmod --new-name mcpstore node \
    && usermod --login mcpstore --home /home/mcpstore --move-home node \
    && mkdir -p /app/config \
    && chown mcpstore:mcpstore /app/config
USER mcpstore

# MCPSTORE_ADMIN_TOKEN (or MCPSTORE_TOKENS_FILE) should be set at run time; without one, a token is generated and
# printed in the log at each start.
ENV NODE_ENV=production \
    MCPSTORE_CONFIG=/app/config/mcp.json \
    LOG_LEVEL=info

# /health needs no token; localhost is always an accepted Host.
HEALTHCHECK --interval=30s --timeout=10s --start-period=5s --retries=3 \
    CMD curl -f http://localhost:18200/health || exit 1

EXPOSE 18200

# tini is PID 1: it passes SIGTERM and SIGINT on to node, which closes the API and stops every service process (a
# second signal kills them at once), and it reaps the zombies that servers' orphaned children become, which node as
# PID 1 would not. `-s` keeps that working when it is not PID 1, e.g. under `docker run --init`.
ENTRYPOINT ["/usr/bin/tini", "-s", "--"]
CMD ["node", "dist/cli.js", "run", "api", "--host", "0.0.0.0"]
