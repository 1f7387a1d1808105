# Multi-stage build of the two programs (dispatcher, worker).
FROM swift:6.1-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq-dev pkgconf libopencc-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Package.swift ./
COPY Sources ./Sources
COPY Plugins ./Plugins
COPY Tests ./Tests
COPY migrations ./migrations
COPY data ./data
RUN swift build -c release --product dispatcher \
 && swift build -c release --product worker \
 && mkdir /out && cp .build/release/dispatcher .build/release/worker /out/

FROM swift:6.1-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq5 libopencc1.1 opencc \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/ /usr/local/bin/
COPY examples /opt/taskforce/examples
USER nobody
EXPOSE 8080 9100
CMD ["dispatcher", "--help"]
