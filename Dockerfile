# The gateway in a container: production dependencies only, running as the unprivileged `node`
# user, state in a volume, a health check on /health. Every step is the project's own install and
# start command; test/deployment.test.ts runs these same steps (outside a container: the machines
# this project is developed on have no container engine, so this image has not been built there).
#
#   docker build -t openclaw-gateway .
#   docker run -p 18789:18789 -v openclaw-state:/home/node/.openclaw \
#     -e OPENCLAW_GATEWAY_TOKEN=... openclaw-gateway
FROM node:24-bookworm-slim

WORKDIR /opt/openclaw
COPY package.json package-lock.json ./
# Install scripts are not needed (every dependency is plain JavaScript) and are not run.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund
COPY bin/ bin/
COPY src/ src/
COPY generated/ generated/
COPY openapi/ openapi/

ENV NODE_ENV=production OPENCLAW_GATEWAY_PORT=18789
USER node
# The state dir (session store, generated token) and the default config file
# (/home/node/.openclaw/openclaw.json); or mount a config elsewhere and set OPENCLAW_CONFIG_PATH.
VOLUME ["/home/node/.openclaw"]
EXPOSE 18789
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s \
  CMD node -e "fetch('http://127.0.0.1:' + process.env.OPENCLAW_GATEWAY_PORT + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
# On all interfaces inside the container; the token is required (auth mode "none" is refused there).
CMD ["node", "bin/openclaw.js", "gateway", "--bind", "lan"]
