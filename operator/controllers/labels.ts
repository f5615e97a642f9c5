// Labels on everything the operator creates: which tool manages it (app.kubernetes.io/managed-by),
// alongside each kind's own label naming the owning resource (k2k.dev/<kind>).
export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'k2k';
