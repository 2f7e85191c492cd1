"""pygls's protocol, answering a request whose params do not fit its method (a negative line, no position, no
params) with JSON-RPC's InvalidParams (-32602). pygls raised it while reading the message, before it knew to
answer: the editor waited for ever, and a traceback went to standard error."""

from __future__ import annotations

from typing import Any

from cattrs import transform_error
from cattrs.errors import ClassValidationError
from lsprotocol.types import ResponseError
from pygls.exceptions import JsonRpcInvalidParams
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.json_rpc import JsonRPCRequestMessage


class Refused:
    """A request already answered with an error while it was read: nothing more to do for it."""


REFUSED = Refused()


def is_request(data: dict[str, Any]) -> bool:
    return "jsonrpc" in data and "id" in data and "method" in data and "error" not in data


class PolicyProtocol(LanguageServerProtocol):
    def structure_message(self, data: dict[str, Any]) -> Any:
        """The message read (an object hook of json.loads, so `data` may be a dict nested in one); a request
        whose params do not fit is answered InvalidParams here, and REFUSED is handed on."""
        if not is_request(data):
            return super().structure_message(data)
        request_type = self.get_message_type(data["method"]) or JsonRPCRequestMessage
        try:
            return self._converter.structure(data, request_type)
        except ClassValidationError as exc:
            why = "; ".join(transform_error(exc, path="params")[:3])
            error = ResponseError(code=JsonRpcInvalidParams.CODE, message=f"{data['method']}: invalid params: {why}")
            self._send_response(data["id"], error=error)
            return REFUSED

    def handle_message(self, message: Any) -> None:
        if message is not REFUSED:
            super().handle_message(message)
