// The app's icon, served by the app itself (no CDN): an SVG for browsers that take one, and the
// same drawing as /favicon.ico, which browsers and tools ask for on their own.
export const FAVICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#0f6cbd"/><path d="M11 8v16M11 17l9-9M14.5 14l6 10" fill="none" stroke="#fff" stroke-width="3.2" stroke-linecap="round" stroke-linejoin="round"/></svg>`;

/** FAVICON_SVG rendered at 32×32 by Chromium, as a PNG inside an ICO container (820 bytes). */
export const FAVICON_ICO = Buffer.from(
  'AAABAAEAICAAAAEAIAAeAwAAFgAAAIlQTkcNChoKAAAADUlIRFIAAAAgAAAAIAgGAAAAc3p69AAAAtNJREFUeJzEl01IVFEYht9zvQaZjoZQmZZBgUiFpQQucmFCYmDRpiLC/txEJrlqVVRLF439CEK2iXJZWYuZwgpykUROYplJhlNM2kTFNH+O83c659pc7wwzzrnjOPOsvnPvx33fc77v3HuuDC3nXxYZAqEOEFILSncQQtYgDVBKf7JnjrBgyJmbY0RXvSNyj0QCQ9vzJpbaS0DWYxmhoNNMttV5q8GkGjC0vWgkoGZkEArs4yZI4ZnB1TRnbozNvAQZRFmJ3LztEpX8xzMtzlFK7Z9tkUBoLbIF05YJZR1Pkuc2bi3mdcOzsd9x7xeulNGxt1wpbqd5Cl5/ONkjwbVlJl6eLPHk7lIYD1cocXvfJ9x9PR11v4iJmzpqUFmyShk7vEF0DXxFUpi2BAGqNhSocXW5YVFxvchCWVQTUhol/ri9Okp81ObG7Vc2iCJmQNMj7O2oisfOfHzGg/03LPD4QxBFzEAMicSbjMNwzAahB6EeoOGFZS9MsOypiHN0r8DB6ujvExfny56KuLCBSN3j8WbKkbI4R6wEms6PpbWuDDUxWzPtBmJ5/92NiR9edXztSAVSRciAJC2UgNe8+boFZ+9/VK9VlRXgdF0pUkHIQFizC4atf5Wav7U6cW9oRr1+sXkzivNzoRchA0SzAtqGvPRoEi7f/EuHvxuuHNgCvaTUAxH+eAK4+uSLOj5WW4KdGwt0PWNJBjh3Bm34wJoyws2jldDDkg3w9jjXN66Ot5XmK1szvQYSfA0jvPvmimrIC02bkFYDn+0eNZ6we+PmXO6fhPN/Q8o5EvJWiM1NZvOxs75eu1gSn50vGEYwRPHAYo+b88sdQEvvKA7tWodOk9iRTNE2tA2Y2Qm1EVmAHc2fSuxgOIIswbWluZDUw2IHMo+Da0u+nnor20qnkGHClJzg2kqrurobHvJ/tfkfx+WFa3AtV/eefj6OPmlk4ff8HwAAAP//41g1uAAAAAZJREFUAwAhoh+NKkPbOAAAAABJRU5ErkJggg==',
  'base64',
);
