# replywatch daemon: slim, non-root. Wheels are built in a throw-away stage; the runtime image holds
# only Python, the installed package and its dependencies.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY replywatch ./replywatch
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN groupadd --gid 10001 replywatch \
    && useradd --uid 10001 --gid 10001 --create-home --shell /usr/sbin/nologin replywatch
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER 10001:10001
WORKDIR /home/replywatch
ENV REPLYWATCH_CONFIG=/etc/replywatch/replywatch.toml
# Healthy while every source is polled on time and no digest is failing (exit 1 otherwise).
HEALTHCHECK --interval=60s --timeout=20s --start-period=120s --retries=3 \
    CMD ["replywatch", "status", "--check"]
ENTRYPOINT ["replywatch"]
CMD ["run"]
