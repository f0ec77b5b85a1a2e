// Vite: React, workspace packages resolved through their "source" condition (contracts' src/), and in
// dev `/api` + `/socket.io` (websocket) proxied to the server on SERVER_URL (default :8000).
import { defineConfig, defaultClientConditions } from "vite";
import react from "@vitejs/plugin-react";

const server = process.env.SERVER_URL ?? "http://127.0.0.1:8000";

export default defineConfig({
  plugins: [react()],
  resolve: { conditions: ["source", ...defaultClientConditions] },
  server: {
    proxy: {
      "/api": { target: server, changeOrigin: true },
      "/socket.io": { target: server, ws: true, changeOrigin: true },
    },
  },
  build: { chunkSizeWarningLimit: 1500, sourcemap: false },
});
