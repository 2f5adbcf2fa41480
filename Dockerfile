# Build a static binary, then ship it alone in a minimal non-root image.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=""
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" \
      -o /out/personio-scim ./cmd/personio-scim

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/personio-scim /usr/local/bin/personio-scim
USER nonroot:nonroot
ENV LISTEN_ADDR=:8080
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["/usr/local/bin/personio-scim", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/personio-scim"]
CMD ["serve"]
