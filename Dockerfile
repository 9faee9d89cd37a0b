# One image for the worker, the API server and the emulator (the command picks the role).
FROM node:20-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ffmpeg fonts-dejavu-core && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY . .
# Images carry no .git: the commit comes in as a build arg (docker compose build --build-arg GIT_COMMIT=$(git rev-parse
# HEAD)) and makes the Worker Deployment build id <package version>-<commit>; without it the id is the version alone.
ARG GIT_COMMIT=
ENV NODE_ENV=production REELFLOW_GIT_COMMIT=${GIT_COMMIT}
CMD ["npm", "run", "worker"]
