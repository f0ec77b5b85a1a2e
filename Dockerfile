# Production image of the server (API + socket.io + built dashboard). The trainer worker has its own
# image (apps/worker/Dockerfile, on an NVIDIA CUDA base) — see docker-compose.yml.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY . .
RUN npm ci --no-audit --no-fund && npx turbo run build --filter=@swanhouse/server... --filter=@swanhouse/web...

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production PORT=8000
COPY --from=build /app /app
EXPOSE 8000
CMD ["node", "apps/server/dist/main.js"]
