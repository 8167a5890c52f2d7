# syntax=docker/dockerfile:1
# The orchestrator: the Nuxt app and its Nitro server (tRPC API), `nuxt build` -> .output.
# Build stage: full install and the production build. Runtime stage: .output (Nitro traces and
# copies the server's node_modules into it) and the SQL migrations, as a non-root user.

FROM node:22-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json .npmrc ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npx nuxt prepare && npm run build

FROM node:22-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/data \
    PGLITE_DIR=/data/db
WORKDIR /app
COPY --from=build --chown=root:root /src/.output /app/.output
# The server applies these at start, from server/db/migrations under its working directory (/app).
COPY --from=build --chown=root:root /src/server/db/migrations /app/server/db/migrations
# The only folder the app may write. Job records are in PostgreSQL (DATABASE_URL, RDS in AWS); an image
# started without one keeps them in an embedded PGlite under PGLITE_DIR.
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", ".output/server/index.mjs"]
