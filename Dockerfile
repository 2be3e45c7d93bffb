# syntax=docker/dockerfile:1
# mailsync: build with dev dependencies, run with production ones only, as a non-root user.
# Node 24 LTS ("Krypton", supported until April 2028; Node 20 ended in April 2026), pinned to a full
# version so a rebuild does not change the runtime under you: bump it with each Node security release.
# package.json's engines still accept Node 20.19+ for running from source.
FROM node:24.17.0-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY scripts/copy-lua.mjs ./scripts/
# Compile, then copy the Lua scripts (src/store/lua) beside the compiled code, as `npm run build` does.
RUN npx tsc -p tsconfig.build.json && node scripts/copy-lua.mjs

FROM node:24.17.0-bookworm-slim AS runtime
# Every role listens on PORT: api and all serve the API there, worker only /health and /metrics
# (so the HEALTHCHECK below works for each role). ROLE picks the role at run time.
ENV NODE_ENV=production \
    ROLE=all \
    HOST=0.0.0.0 \
    PORT=3000
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# The console's static files, served at /console (src/wiring/console.ts finds them beside dist/).
COPY console ./console
USER node
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# A worker role (worker, all) sets V8's --heap-growing-percent itself at start (src/lifecycle/worker-heap.ts):
# Node refuses that flag in NODE_OPTIONS. To choose another value, put it here before dist/main.js.
CMD ["node", "dist/main.js"]
