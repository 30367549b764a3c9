# clerk-sync, built in two stages. SQLite, libpq and OpenSSL are bundled into the binary, so
# the runtime image needs only CA certificates (for a TLS connection to PostgreSQL).
FROM rust:1.88-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin clerk-sync

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --create-home --home-dir /app clerk-sync
WORKDIR /app
COPY --from=build /src/target/release/clerk-sync /usr/local/bin/clerk-sync
COPY config /app/config
USER clerk-sync
ENV HOST=0.0.0.0 PORT=8000 CLERK_SYNC_ENV=production
EXPOSE 8000
# The binary checks itself: the image has no curl.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 CMD ["clerk-sync", "healthcheck"]
CMD ["clerk-sync", "serve"]
