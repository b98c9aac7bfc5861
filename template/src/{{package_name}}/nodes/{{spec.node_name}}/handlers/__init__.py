"""One module per operation: handler_<operation>.py defines handle_<operation>.

contract.yaml (handler_routing, routing_strategy operation_match) names the handler of each
operation; operation_routes.py resolves and checks them once, when the node is imported.
"""
