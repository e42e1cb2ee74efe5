"""Model cards for registered versions: editable fields kept as audit events, computed facts shown beside them."""
