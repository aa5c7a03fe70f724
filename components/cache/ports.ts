/** The cache tier's port, declared once. Pure data with no imports (see components/database/ports.ts). */

/** Redis / Valkey (ElastiCache, TLS). */
export const REDIS_PORT = 6379;
