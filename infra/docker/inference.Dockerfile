# syntax=docker/dockerfile:1
# One image per inference service: `docker build -f infra/docker/inference.Dockerfile
#   --build-arg SERVICE_TASK=upscale .` (sst.config.ts passes each task of contracts/tasks.ts).
# Build stage: full install, the task's models converted to ONNX, the one entry bundled (infra/docker/build-service.ts).
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
ARG SERVICE_TASK=upscale
RUN node --import tsx infra/docker/build-service.ts "${SERVICE_TASK}" /out

FROM node:22-bookworm-slim AS runtime
ARG SERVICE_TASK=upscale
# PORT is the task's own (contracts/tasks.ts) unless the platform sets one.
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    SERVICE_TASK=${SERVICE_TASK} \
    MODELS_DIR=/app/models \
    MODELS_BAKED=1
WORKDIR /app
COPY --from=build --chown=root:root /out /app
USER node
EXPOSE 8101-8199
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||require('/app/service.json').port)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "service.mjs"]
