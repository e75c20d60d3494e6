import { config as loadDotenv } from "dotenv";
import { main } from "./program.js";

// `.env` of the current directory first, so that MCPSTORE_CONFIG, LOG_LEVEL and ${VAR} placeholders see it; the real
// environment wins over it.
loadDotenv({ quiet: true });

process.exitCode = await main(process.argv);
