# replywatch daemon: slim, non-root.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY replywatch ./replywatch
COPY rules ./rules
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 replywatch
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER replywatch
WORKDIR /home/replywatch
ENV REPLYWATCH_CONFIG=/etc/replywatch/replywatch.toml
ENTRYPOINT ["replywatch"]
CMD ["run"]
