# syntax=docker/dockerfile:1
# One image per inference service: `docker build -f infra/docker/inference.Dockerfile
#   --build-arg SERVICE_ENTRY=inference/service/upscale.ts .` (sst.config.ts passes the entry).
# Build stage: full install, models converted to ONNX, the entry bundled (infra/docker/build-service.ts).
# Runtime stage: that folder only (bundle + onnxruntime-node + sharp + models), as a non-root user.

FROM node:22-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json .npmrc ./
# No install scripts: postinstall (nuxt prepare, model conversion) needs the sources; the build step below converts.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY contracts ./contracts
COPY lib ./lib
COPY inference ./inference
COPY infra/docker/build-service.ts ./infra/docker/build-service.ts
ARG SERVICE_ENTRY=inference/service/upscale.ts
RUN node --import tsx infra/docker/build-service.ts "${SERVICE_ENTRY}" /out

FROM node:22-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8101 \
    MODELS_DIR=/app/models \
    MODELS_BAKED=1
WORKDIR /app
COPY --from=build --chown=root:root /out /app
USER node
EXPOSE 8101
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8101)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "service.mjs"]
