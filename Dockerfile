# syntax=docker/dockerfile:1
# Production image: build with dev dependencies, ship only production ones, run as non-root.
FROM node:24-slim AS build
WORKDIR /app
# better-sqlite3 and ssh2 compile native code when no prebuilt binary can be fetched.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY commands ./commands
COPY runbooks ./runbooks
RUN npm run build && npm prune --omit=dev

FROM node:24-slim
ENV NODE_ENV=production \
    OPSBOT_CONFIG=/config/opsbot.yaml
WORKDIR /app
RUN groupadd --system opsbot && useradd --system --gid opsbot --home-dir /app --shell /usr/sbin/nologin opsbot \
 && mkdir -p /data /config /keys && chown opsbot:opsbot /data
COPY --from=build --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist ./dist
COPY --chown=root:root package.json opsbot.example.yaml ./
USER opsbot
# opsbot.yaml is mounted at /config, SSH keys at /keys (read-only); the database lives in /data.
VOLUME ["/data"]
EXPOSE 9465
# Sized for a small, I/O-bound heap (bench row 5): a 2 MB young generation (the default semi-spaces
# keep ~15 MB that an idle bot never uses) and GC on the main thread (no helper threads' memory).
CMD ["node", "--max-semi-space-size=2", "--single-threaded-gc", "dist/src/main.js"]
