export function isTwoTower(m) {
    return typeof m.userVectors === 'function';
}
//# sourceMappingURL=types.js.map