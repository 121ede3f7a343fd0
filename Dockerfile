# The function's image: what `fn deploy` builds for `runtime: python3.11`
# (fnproject/python build and run images, dependencies in /python, code in
# /function, PYTHONPATH=/function:/python), plus three steps (their effect on
# size and cold start: docs/performance.md, dev/bench/results.md):
#   1. dependencies installed from the hash-pinned lock (--require-hashes);
#   2. image/trim.py removes what the function never loads (~460 MB);
#   3. the function's own code is compiled to byte-code now, because the
#      platform's filesystem is read-only and would compile it on every cold start.
# fn deploy uses this file because func.yaml says `runtime: docker`.

FROM fnproject/python:3.11-dev AS build-stage
WORKDIR /function
COPY requirements.txt image/trim.py /build/
RUN pip3 install --target /python/ --no-cache --no-cache-dir --require-hashes -r /build/requirements.txt && \
    python3 /build/trim.py /python && \
    rm -fr ~/.cache/pip /tmp/* /build && \
    chmod -R o+r /python
COPY func.py /function/
COPY genai_fn /function/genai_fn
RUN python3 -m compileall -q /function && chmod -R o+r /function

FROM fnproject/python:3.11
WORKDIR /function
COPY --from=build-stage /python /python
COPY --from=build-stage /function /function
ENV PYTHONPATH=/function:/python
# fdk's own entry point with an opt-in eager start (GENAI_EAGER_START): genai_fn/boot.py.
ENTRYPOINT ["python3", "-m", "genai_fn.boot", "/function/func.py", "handler"]
