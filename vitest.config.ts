import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["core/**/*.test.ts", "stores/**/*.test.ts", "sim/**/*.test.ts", "properties/**/*.test.ts", "scenarios/**/*.test.ts", "reports/**/*.test.ts"],
    testTimeout: 120_000,
    pool: "forks"
  }
})
