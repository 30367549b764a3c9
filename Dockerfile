# clerk-sync: a two-stage build. The C libraries (SQLite, libpq, OpenSSL) are bundled into the
# binary, so the runtime image needs only CA certificates.
FROM rust:1.88-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin clerk-sync

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /app clerk-sync
WORKDIR /app
COPY --from=build /src/target/release/clerk-sync /usr/local/bin/clerk-sync
USER clerk-sync
ENV HOST=0.0.0.0 PORT=8000
EXPOSE 8000
CMD ["clerk-sync", "serve"]
