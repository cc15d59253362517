# Production image: build with dev dependencies, ship only production ones, run as non-root.
#   docker build -t opsbot .
# BASE_IMAGE: any Debian-based image with Node.js 24 and npm; node:24-slim unless you choose
# another (the tests build FROM a locally made bookworm + Node 24 since no registry is reachable).
ARG BASE_IMAGE=node:24-slim

FROM ${BASE_IMAGE} AS build
WORKDIR /app
# better-sqlite3 and ssh2 compile native code when no prebuilt binary can be fetched.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
# .dockerignore lets in only what the build and the image need (sources, configs, the example).
COPY . .
# The compiler's intermediates and SQLite's sources (~25 MB) are not needed to run.
RUN npm run build && npm prune --omit=dev --no-audit --no-fund \
 && cd node_modules/better-sqlite3 && mv build/Release/better_sqlite3.node . \
 && rm -rf build deps src && mkdir -p build/Release && mv better_sqlite3.node build/Release/ \
 && cd /app && mkdir /out && mv node_modules dist bin package.json opsbot.example.yaml /out/

FROM ${BASE_IMAGE}
ENV NODE_ENV=production \
    OPSBOT_CONFIG=/config/opsbot.yaml
WORKDIR /app
# A fixed uid/gid (10001), so a mounted key or database directory can be given to it on the host
# (`chown 10001 key`) before the container exists.
RUN groupadd --system --gid 10001 opsbot \
 && useradd --system --uid 10001 --gid opsbot --home-dir /app --shell /usr/sbin/nologin opsbot \
 && mkdir -p /data /config /keys && chown opsbot:opsbot /data \
 && ln -s /app/bin/opsbot.js /usr/local/bin/opsbot
# One layer for the whole app, owned by root so the bot cannot rewrite its own code. `opsbot …`
# (backup, doctor, console) runs the compiled dist/ in the image.
COPY --from=build --chown=root:root /out/ /app/
USER opsbot
# opsbot.yaml is mounted at /config, SSH keys at /keys (read-only); the database lives in /data.
VOLUME ["/data"]
EXPOSE 9465
# GET /healthz on the configured http.listen (read from the mounted config).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 CMD ["node", "dist/src/healthcheck.js"]
# Sized for a small, I/O-bound heap (bench row 5): a 2 MB young generation (the default semi-spaces
# keep ~15 MB that an idle bot never uses) and GC and compiles on the main thread: V8's helper
# threads leave freed compiler memory in their malloc arenas, 0-16 MB of RSS varying by run.
CMD ["node", "--max-semi-space-size=2", "--single-threaded", "--no-lazy-feedback-allocation", "dist/src/main.js"]
