import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// Served by the Starlette app at /portal/ (gql/portal_web.py); `npm run dev` proxies the API.
export default defineConfig({
  base: "/portal/",
  plugins: [react()],
  build: { outDir: "dist", emptyOutDir: true, sourcemap: false },
  server: { proxy: { "/graphql": "http://127.0.0.1:8000", "/documents": "http://127.0.0.1:8000" } },
});
